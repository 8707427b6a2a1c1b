package main

import (
	"io"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/internal/config"
	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/progress"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// DefaultKeepProperty is --keep-property's default.
const DefaultKeepProperty = run.DefaultKeepProperty

// runFlags are the flags shared by prune, plan, apply and serve. Which of them a command registers is up to it:
// apply, for one, takes what to judge from the plan file, not from flags.
type runFlags struct {
	conn            connFlags
	repos           []string
	allRepos        bool
	includeImages   []string
	excludeImages   []string
	keepProperty    string
	minAge          durationValue
	pulledWithin    durationValue
	concurrency     int
	pageSize        int
	output          string
	reportFile      string
	summaryMarkdown string
	metricsFile     string
	pushgateway     string
	verbose         bool
	quiet           bool
	logFormat       string
	configFile      string
	perf            perfFlags
	purgeTrashAfter durationValue // 0: off

	// hasSelection is true when the selection flags are registered (not for apply).
	hasSelection bool
}

// registerAll registers every flag: the prune, plan and serve commands.
func (o *runFlags) registerAll(f *pflag.FlagSet) {
	o.conn.register(f)
	o.registerSelection(f)
	o.registerExec(f)
	o.registerOutput(f)
	o.registerLog(f)
}

func (o *runFlags) registerSelection(f *pflag.FlagSet) {
	o.hasSelection = true
	o.minAge = durationValue(prune.DefaultMinAge)
	f.StringArrayVar(&o.repos, "repo", nil, "local Docker repository to prune, or a glob of repository keys such as 'docker-*' (repeatable)")
	f.BoolVar(&o.allRepos, "all-repos", false, "prune every local Docker repository (remote, virtual and federated ones are named and skipped)")
	f.StringArrayVar(&o.includeImages, "include-image", nil, "judge only images matching this glob ('team/*', 'team/**'; repeatable)")
	f.StringArrayVar(&o.excludeImages, "exclude-image", nil, "leave images matching this glob alone: neither read, judged nor deleted (repeatable)")
	f.StringVar(&o.keepProperty, "keep-property", DefaultKeepProperty, "a folder (or a file in it, or a folder above it) carrying this property, key=value or key, is never deleted and keeps what it references; empty disables")
	f.Var(&o.minAge, "min-age", "grace period: manifests younger than this are kept with everything they reference (Go duration or days: 36h, 7d)")
	f.Var(&o.pulledWithin, "keep-pulled-within", "keep digest folders whose manifest was downloaded (locally or through another Artifactory) within this long, with everything they reference (30d; 0: off); use with --cache-dir")
}

func (o *runFlags) registerExec(f *pflag.FlagSet) {
	f.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at once (document reads, deletes)")
	f.IntVar(&o.pageSize, "page-size", artifactory.DefaultPageSize, "AQL rows per page")
	o.perf.register(f)
}

func (o *runFlags) registerOutput(f *pflag.FlagSet) {
	f.StringVarP(&o.output, "output", "o", "text", "output format on stdout: text or json")
	f.StringVar(&o.reportFile, "report", "", "also write the JSON report to this file")
	f.StringVar(&o.summaryMarkdown, "summary-markdown", "", "also write a Markdown summary to this file (such as $GITHUB_STEP_SUMMARY)")
	f.StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus metrics to this file (node_exporter textfile collector)")
	f.StringVar(&o.pushgateway, "pushgateway", "", "push Prometheus metrics to this Pushgateway URL (job artprune)")
}

// registerPurge registers --purge-trash-after (prune and serve).
func (o *runFlags) registerPurge(f *pflag.FlagSet) {
	f.Var(&o.purgeTrashAfter, "purge-trash-after", "permanently delete from the Trash Can the folders artprune moved there at least this long ago "+
		"and that nothing live reaches again, so that garbage collection frees their space (Go duration or days: 7d); a run with it also "+
		"marks its own deletions for a later purge; off by default")
}

func (o *runFlags) registerLog(f *pflag.FlagSet) {
	f.StringVar(&o.configFile, "config", "", "YAML file of flag values (keys are flag names); flags and the environment win over it")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log details to stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "log only errors to stderr, and show no progress bars")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
}

// selection says what a run judges and with which settings.
type selection struct {
	repos                  []string
	allRepos               bool
	includes, excludes     []string
	keepProperty           string
	minAge                 time.Duration
	pulledWithin           time.Duration  // 0: off
	plan                   *planfile.Plan // apply: the plan, whose URL the connection must match
	requireExplicitRepoArg bool
}

func (o *runFlags) selection() selection {
	return selection{repos: o.repos, allRepos: o.allRepos, includes: o.includeImages, excludes: o.excludeImages,
		keepProperty: o.keepProperty, minAge: time.Duration(o.minAge), pulledWithin: time.Duration(o.pulledWithin)}
}

// validate checks the flags that do not need the server.
func (o *runFlags) validate() error {
	if o.hasSelection {
		if len(o.repos) == 0 && !o.allRepos {
			return usageErrorf("--repo is required: name the local Docker repositories to prune (or a glob such as 'docker-*'), or give --all-repos")
		}
		for _, r := range o.repos {
			if err := checkRepoPattern(r); err != nil {
				return err
			}
		}
		if _, err := run.NewImageFilter(o.includeImages, o.excludeImages); err != nil {
			return usageError{err}
		}
		if o.keepProperty != "" {
			if k, _, _ := strings.Cut(o.keepProperty, "="); k == "" {
				return usageErrorf("--keep-property %q: want key=value or key", o.keepProperty)
			}
		}
		if o.pulledWithin < 0 {
			return usageErrorf("--keep-pulled-within must not be negative (0 turns it off)")
		}
		if o.minAge <= 0 {
			return usageErrorf("--min-age must be positive: a grace period of zero could delete the children of a push in progress")
		}
	}
	if o.output != "text" && o.output != "json" {
		return usageErrorf("--output %q: want text or json", o.output)
	}
	if o.concurrency < 1 || o.concurrency > 256 {
		return usageErrorf("--concurrency %d: want 1 to 256", o.concurrency)
	}
	if o.pageSize < 1 {
		return usageErrorf("--page-size %d: must be at least 1", o.pageSize)
	}
	if o.verbose && o.quiet {
		return usageErrorf("--verbose and --quiet contradict each other")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return usageErrorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.pushgateway != "" {
		u, err := url.Parse(o.pushgateway)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--pushgateway %q: want http(s)://host:port", o.pushgateway)
		}
	}
	return o.perf.validate()
}

// checkRepoPattern accepts a repository key or a glob of keys.
func checkRepoPattern(r string) error {
	if r == "" || strings.ContainsAny(r, "/\\ ") {
		return usageErrorf("--repo %q: want a repository key such as docker-local, or a glob such as 'docker-*'", r)
	}
	if _, err := path.Match(r, ""); err != nil {
		return usageErrorf("--repo %q: %v", r, err)
	}
	return nil
}

// logger returns the logger for stderr in the chosen format and level.
func (o *runFlags) logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case o.verbose:
		level = slog.LevelDebug
	case o.quiet:
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// progressFor returns the progress display: bars when stderr is a terminal (and logs are text and not quiet),
// else log lines at phase boundaries. The returned writer is where logs go: above the bars, or stderr itself.
func (o *runFlags) progressFor(stderr io.Writer, allowBars bool) (progress.Reporter, io.Writer, *progress.Bars) {
	if allowBars && !o.quiet && o.logFormat == "text" && progress.IsTerminal(stderr) {
		b := progress.NewBars(stderr)
		return b, b.Writer(), b
	}
	return nil, stderr, nil
}

// applyConfig reads --config and sets every flag the command line did not set from it. The connection keys rank
// below the environment, so they go to connFlags rather than to the flags. Keys are the long flag names of any
// artprune command; a key this command does not have (such as serve's every, for prune) is ignored, and a key no
// command has is an error.
func (o *runFlags) applyConfig(cmd *cobra.Command) error {
	if o.configFile == "" {
		return nil
	}
	file, err := config.Load(o.configFile)
	if err != nil {
		return usageError{err}
	}
	known := knownConfigKeys(cmd.Root())
	if err := file.Check(func(k string) bool { return known[k] }); err != nil {
		return usageError{err}
	}
	f := cmd.Flags()
	for _, e := range file.Entries {
		fl := f.Lookup(e.Key)
		if fl == nil {
			continue // another command's flag
		}
		if fl.Changed {
			continue // the command line wins
		}
		if slices.Contains(connKeys, e.Key) {
			if e.List {
				return usageErrorf("config file %s: line %d: %s takes one value", file.Path, e.Line, e.Key)
			}
			o.conn.setFromConfig(e.Key, e.Values[0])
			continue
		}
		isList := strings.HasSuffix(fl.Value.Type(), "Array") || strings.HasSuffix(fl.Value.Type(), "Slice")
		if e.List && !isList {
			return usageErrorf("config file %s: line %d: %s takes one value, not a list", file.Path, e.Line, e.Key)
		}
		for _, v := range e.Values {
			if err := f.Set(e.Key, v); err != nil {
				return usageErrorf("config file %s: line %d: %s: %v", file.Path, e.Line, e.Key, err)
			}
		}
	}
	return nil
}

// configExcluded are flags that make no sense in a config file.
var configExcluded = map[string]bool{"config": true, "help": true}

// knownConfigKeys returns the long flag names of every artprune command.
func knownConfigKeys(root *cobra.Command) map[string]bool {
	keys := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			if !configExcluded[fl.Name] {
				keys[fl.Name] = true
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return keys
}
