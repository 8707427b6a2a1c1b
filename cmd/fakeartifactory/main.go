// Command fakeartifactory serves artprune's Artifactory emulator on one listener, for the demo, end-to-end tests,
// benchmarks and manual experiments. It runs until SIGINT or SIGTERM and is ready when
// GET /artifactory/api/system/ping answers OK.
//
//	fakeartifactory --listen 127.0.0.1:8081 --admin-token TOKEN --repo docker-local --repo docker-remote:remote \
//	    [--fixture FILE] [--generate images=50,tags=4] [--seed 1] [--latency 20ms] [--fault-rate 0.1] [--edition jcr]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fakeartifactory:", err)
		os.Exit(2)
	}
}

// options are the command's flags.
type options struct {
	listen        string
	adminToken    string
	repos         []artifactorytest.Repo
	users         []artifactorytest.User
	fixture       string
	latency       time.Duration
	latencyOn     string
	faultRate     float64
	faultSlow     time.Duration
	faultClasses  string
	faultKinds    string
	aqlMaxResults int
	generate      string
	scenario      string
	addrFile      string
	seed          uint64
	referrers     bool
	verbose       bool
	trash         bool
	trashDays     int
	trashAPI      bool
	edition       string
	licenses      string
	aqlParallel   int
	aqlPending    time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fakeartifactory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address to listen on (loopback only is recommended)")
	fs.StringVar(&o.adminToken, "admin-token", "", "access token of user admin (required; admin:TOKEN also works as basic auth)")
	fs.Func("repo", "repository KEY[:local|remote|virtual][:docker|generic] (repeatable; default docker-local)", func(s string) error {
		r, err := parseRepo(s)
		if err == nil {
			o.repos = append(o.repos, r)
		}
		return err
	})
	fs.Func("token", "extra user NAME:TOKEN:PERMS[:REPO_GLOBS[:EXCLUDES]], PERMS a comma list of read,deploy,delete,admin, "+
		"EXCLUDES a comma list of REPO/PATH patterns hidden from the user, such as docker-local/my-image/latest (repeatable)", func(s string) error {
		u, err := artifactorytest.ParseUser(s)
		if err == nil {
			o.users = append(o.users, u)
		}
		return err
	})
	fs.StringVar(&o.fixture, "fixture", "", "JSON fixture to load at start (the format of GET /_emulator/snapshot)")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every request (or to those of --latency-classes)")
	fs.StringVar(&o.latencyOn, "latency-classes", "", "endpoint classes --latency applies to: aql,download,delete,docker,other (default all)")
	fs.Float64Var(&o.faultRate, "fault-rate", 0, "fraction of requests that fail (0 to 1)")
	fs.StringVar(&o.faultClasses, "fault-classes", "", "endpoint classes that fail: aql,download,delete,docker,other (default all)")
	fs.StringVar(&o.faultKinds, "fault-kinds", "", "kinds of failure: 500,503,429,reset,cut,slow (default all but slow)")
	fs.DurationVar(&o.faultSlow, "fault-slow", artifactorytest.DefaultSlow, "delay of the slow fault")
	fs.IntVar(&o.aqlMaxResults, "aql-max-results", artifactorytest.DefaultAQLMaxResults, "AQL hard limit past which results are trimmed")
	fs.StringVar(&o.generate, "generate", "", "fill the first --repo with a synthetic Docker repository, e.g. images=50,tags=4,generations=4,platforms=2,attestations=1,referrers=0.1")
	fs.StringVar(&o.addrFile, "addr-file", "", "once listening, write the address (host:port) to this file: with --listen 127.0.0.1:0, scripts learn the port and know the server is ready")
	fs.StringVar(&o.scenario, "scenario", "", "fill the first --repo with a named scenario: seed-story (the demo's)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for --generate and fault injection")
	fs.BoolVar(&o.referrers, "referrers-api", true, "serve the OCI referrers API (false exercises the tag-schema fallback)")
	fs.BoolVar(&o.trash, "trash", true, "send deleted items to the Trash Can (auto-trashcan), as Artifactory does by default")
	fs.IntVar(&o.trashDays, "trash-retention-days", artifactorytest.DefaultTrashRetentionDays, "days garbage collection (POST /_emulator/gc) keeps items in the Trash Can")
	fs.BoolVar(&o.trashAPI, "trash-api", true, "serve api/trash/* (false answers as editions without it: 400, Pro only)")
	fs.BoolVar(&o.verbose, "verbose", false, "log every request")
	fs.StringVar(&o.edition, "edition", string(artifactorytest.EditionPro), "Artifactory edition to behave as: pro, jcr, oss (AQL refuses sort) or saas (AQL concurrency limiter)")
	fs.StringVar(&o.licenses, "licenses", string(artifactorytest.LicensesSingle), "shape of api/system/licenses: single (one server), ha (an HA cluster's {\"licenses\":[...]}) or ha-list (an HA cluster's bare list)")
	fs.IntVar(&o.aqlParallel, "aql-concurrency", -1, "AQL queries that may run at once before the limiter answers 429 (-1: the edition's default, 3 on saas, none elsewhere; 0: no limiter)")
	fs.DurationVar(&o.aqlPending, "aql-pending-timeout", artifactorytest.SaaSAQLPendingTimeout, "how long a query waits for an AQL slot before the 429")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if _, err := artifactorytest.ParseEdition(o.edition); err != nil {
		return nil, fmt.Errorf("--edition: %w", err)
	}
	if _, err := artifactorytest.ParseLicensesShape(o.licenses); err != nil {
		return nil, fmt.Errorf("--licenses: %w", err)
	}
	if o.adminToken == "" {
		return nil, errors.New("--admin-token is required")
	}
	if len(o.repos) == 0 && o.fixture == "" {
		o.repos = []artifactorytest.Repo{{Key: "docker-local", Type: artifactorytest.RepoLocal, PackageType: artifactorytest.PackageDocker}}
	}
	return o, nil
}

func parseRepo(s string) (artifactorytest.Repo, error) {
	parts := strings.Split(s, ":")
	r := artifactorytest.Repo{Key: parts[0], Type: artifactorytest.RepoLocal, PackageType: artifactorytest.PackageDocker}
	if len(parts) > 3 || r.Key == "" {
		return r, fmt.Errorf("--repo %q: want KEY[:local|remote|virtual][:docker|generic]", s)
	}
	if len(parts) > 1 {
		r.Type = parts[1]
	}
	if len(parts) > 2 {
		r.PackageType = parts[2]
	}
	return r, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	classes, err := artifactorytest.ParseClasses(o.faultClasses)
	if err != nil {
		return err
	}
	kinds, err := artifactorytest.ParseFaults(o.faultKinds)
	if err != nil {
		return err
	}
	latencyOn, err := artifactorytest.ParseClasses(o.latencyOn)
	if err != nil {
		return err
	}
	opts := []artifactorytest.Option{
		artifactorytest.WithAdminToken(o.adminToken),
		artifactorytest.WithSeed(o.seed),
		artifactorytest.WithAQLMaxResults(o.aqlMaxResults),
		artifactorytest.WithFaults(artifactorytest.FaultConfig{Latency: o.latency, LatencyClasses: latencyOn, Rate: o.faultRate,
			Classes: classes, Kinds: kinds, Slow: o.faultSlow}),
		artifactorytest.WithReferrersAPI(o.referrers),
		artifactorytest.WithTrash(artifactorytest.TrashConfig{Enabled: o.trash, RetentionDays: o.trashDays, NoAPI: !o.trashAPI}),
		artifactorytest.WithLogger(log),
		artifactorytest.WithEdition(artifactorytest.Edition(strings.ToLower(o.edition))),
		artifactorytest.WithLicensesShape(artifactorytest.LicensesShape(strings.ToLower(o.licenses))),
	}
	if o.aqlParallel >= 0 {
		opts = append(opts, artifactorytest.WithAQLConcurrency(o.aqlParallel, o.aqlPending))
	}
	for _, r := range o.repos {
		opts = append(opts, artifactorytest.WithRepo(r))
	}
	for _, u := range o.users {
		opts = append(opts, artifactorytest.WithUser(u))
	}
	if o.fixture != "" {
		f, err := artifactorytest.ReadFixture(o.fixture)
		if err != nil {
			return err
		}
		opts = append(opts, artifactorytest.WithFixture(f))
	}
	emu, err := artifactorytest.New(opts...)
	if err != nil {
		return err
	}
	if o.generate != "" {
		if len(o.repos) == 0 {
			return errors.New("--generate fills the first --repo: name one")
		}
		spec, err := artifactorytest.ParseGenerateSpec(o.generate)
		if err != nil {
			return err
		}
		began := time.Now()
		stats, err := artifactorytest.Generate(emu.Store(), o.repos[0].Key, spec, o.seed, emu.Clock().Now())
		if err != nil {
			return err
		}
		log.Info("generated repository", "repo", o.repos[0].Key, "tags", stats.Tags, "digest_folders", stats.DigestFolders,
			"referrers", stats.Referrers, "files", stats.Files, "took", time.Since(began).Round(time.Millisecond))
	}
	if o.scenario != "" {
		if err := loadScenario(emu, o.scenario, o.repos, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("fakeartifactory listening", "url", "http://"+ln.Addr().String()+"/artifactory/", "edition", emu.Edition(), "items", emu.Store().Len())
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, ln.Addr().String()+"\n"); err != nil {
			_ = srv.Close()
			return fmt.Errorf("--addr-file: %w", err)
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log.Info("shutting down")
	return srv.Shutdown(shutdownCtx)
}

func loadScenario(emu *artifactorytest.Emulator, name string, repos []artifactorytest.Repo, log *slog.Logger) error {
	if len(repos) == 0 {
		return errors.New("--scenario fills the first --repo: name one")
	}
	switch name {
	case "seed-story":
		sc, err := artifactorytest.SeedStory(emu.Store(), repos[0].Key, emu.Clock().Now())
		if err != nil {
			return err
		}
		log.Info("loaded scenario", "name", name, "repo", repos[0].Key, "dangling", len(sc.Dangling), "live", len(sc.Live))
		return nil
	}
	return fmt.Errorf("--scenario %q: unknown (want seed-story)", name)
}

// writeFileAtomic writes data to path through a temporary file and a rename, so a reader never sees half of it.
func writeFileAtomic(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
