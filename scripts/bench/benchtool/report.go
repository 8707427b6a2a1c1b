package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A bench directory, as scripts/bench/bench.sh writes it:
//
//	meta.env                 KEY=VALUE lines: the size, seed, latency, machine and command of the run
//	script/, artprune/       one per contender, each run on a fresh emulator with the same --generate and --seed:
//	    before.tsv after.tsv   `benchtool inventory` before and after the run
//	    time.txt               `/usr/bin/time -v` of the run
//	    stats.json             the emulator's request counters for the run (GET /_emulator/stats)
//	    report.json            artprune's JSON report (artprune only)

// runStats is what one contender did.
type runStats struct {
	Wall      time.Duration    `json:"wall_ns"`
	User, Sys time.Duration    `json:"-"`
	MaxRSSKiB int64            `json:"max_rss_kib"`
	Requests  map[string]int64 `json:"requests"`
	Total     int64            `json:"requests_total"`
	Before    []manifestFile   `json:"-"`
	Deleted   []string         `json:"deleted_folders"`
}

func loadRun(dir string) (*runStats, error) {
	rs := &runStats{}
	var err error
	if rs.Wall, rs.User, rs.Sys, rs.MaxRSSKiB, err = parseTimeV(filepath.Join(dir, "time.txt")); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err != nil {
		return nil, err
	}
	var st struct {
		Requests map[string]int64 `json:"requests"`
		Total    int64            `json:"total"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s/stats.json: %w", dir, err)
	}
	rs.Requests, rs.Total = st.Requests, st.Total
	if rs.Before, err = readInventory(filepath.Join(dir, "before.tsv")); err != nil {
		return nil, err
	}
	after, err := readInventory(filepath.Join(dir, "after.tsv"))
	if err != nil {
		return nil, err
	}
	left := folders(after)
	for f := range folders(rs.Before) {
		if !left[f] {
			rs.Deleted = append(rs.Deleted, f)
		}
	}
	slices.Sort(rs.Deleted)
	return rs, nil
}

// parseTimeV reads the output of GNU time -v.
func parseTimeV(path string) (wall, user, sys time.Duration, rssKiB int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(k, "Elapsed (wall clock) time"):
			wall, err = parseClock(v)
			seen++
		case k == "User time (seconds)":
			user, err = parseSeconds(v)
		case k == "System time (seconds)":
			sys, err = parseSeconds(v)
		case k == "Maximum resident set size (kbytes)":
			rssKiB, err = strconv.ParseInt(v, 10, 64)
			seen++
		}
		if err != nil {
			return
		}
	}
	if seen < 2 {
		err = fmt.Errorf("%s: not the output of /usr/bin/time -v", path)
	}
	return
}

// parseClock parses "h:mm:ss" or "m:ss.ss".
func parseClock(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	var total float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, fmt.Errorf("elapsed time %q: %w", s, err)
		}
		total = total*60 + v
	}
	return time.Duration(total * float64(time.Second)), nil
}

func parseSeconds(s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(s, 64)
	return time.Duration(v * float64(time.Second)), err
}

// readMeta reads meta.env.
func readMeta(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m, nil
}

// artpruneReport is what the comparison needs of artprune's JSON report.
type artpruneReport struct {
	Repositories []struct {
		Kept []struct {
			Path   string `json:"path"`
			Reason string `json:"reason"`
		} `json:"kept"`
		Deletions []struct {
			Path    string `json:"path"`
			Outcome string `json:"outcome"`
		} `json:"deletions"`
	} `json:"repositories"`
}

// comparison is the outcome of a bench run.
type comparison struct {
	Meta     map[string]string `json:"meta"`
	Script   *runStats         `json:"script"`
	Artprune *runStats         `json:"artprune"`
	Speedup  float64           `json:"speedup"`
	// MinRequests is what the algorithm needs: AQL pages of the inventory, one read per distinct document, one
	// delete per folder deleted.
	MinRequests    int64          `json:"min_requests"`
	RequestRatio   float64        `json:"request_ratio"`
	ManifestFiles  int            `json:"manifest_files"`
	DistinctDocs   int            `json:"distinct_documents"`
	InventoryPages int64          `json:"inventory_pages"`
	ScriptOnly     map[string]int `json:"script_only_by_artprune_reason"` // script deleted, artprune kept: by reason
	ArtpruneOnly   int            `json:"artprune_only"`
	Both           int            `json:"both"`
	Unexplained    []string       `json:"unexplained"` // script deleted, artprune neither deleted nor kept with a reason
	Failures       []string       `json:"failures"`
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "", "bench directory")
	mdOut := fs.String("markdown", "", "also write the table to this file")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("report: --dir is required")
	}
	c, err := compare(*dir)
	if err != nil {
		return err
	}
	var md strings.Builder
	c.writeMarkdown(&md)
	fmt.Print(md.String())
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md.String()), 0o644); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(c, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if len(c.Failures) > 0 {
		return fmt.Errorf("%d check(s) failed: %s", len(c.Failures), strings.Join(c.Failures, "; "))
	}
	return nil
}

func compare(dir string) (*comparison, error) {
	meta, err := readMeta(filepath.Join(dir, "meta.env"))
	if err != nil {
		return nil, err
	}
	c := &comparison{Meta: meta, ScriptOnly: map[string]int{}}
	if c.Script, err = loadRun(filepath.Join(dir, "script")); err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	if c.Artprune, err = loadRun(filepath.Join(dir, "artprune")); err != nil {
		return nil, fmt.Errorf("artprune: %w", err)
	}
	if !slices.Equal(c.Script.Before, c.Artprune.Before) {
		c.Failures = append(c.Failures, "the two fresh copies of the repository differ: the generator is not deterministic")
	}
	b, err := os.ReadFile(filepath.Join(dir, "artprune", "report.json"))
	if err != nil {
		return nil, err
	}
	var rep artpruneReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("artprune/report.json: %w", err)
	}
	kept := map[string]string{}
	for _, rr := range rep.Repositories {
		for _, k := range rr.Kept {
			kept[k.Path] = k.Reason
		}
		for _, d := range rr.Deletions {
			if d.Outcome != "deleted" && d.Outcome != "already-gone" {
				c.Failures = append(c.Failures, fmt.Sprintf("artprune: %s %s", d.Path, d.Outcome))
			}
		}
	}

	if c.Artprune.Wall > 0 {
		c.Speedup = c.Script.Wall.Seconds() / c.Artprune.Wall.Seconds()
	}
	pageSize, _ := strconv.ParseInt(cmp.Or(meta["PAGE_SIZE"], "10000"), 10, 64)
	c.ManifestFiles = len(c.Artprune.Before)
	docs := map[string]bool{}
	for _, f := range c.Artprune.Before {
		docs[f.SHA256] = true
	}
	c.DistinctDocs = len(docs)
	c.InventoryPages = max(1, (int64(c.ManifestFiles)+pageSize-1)/pageSize)
	c.MinRequests = c.InventoryPages + int64(c.DistinctDocs) + int64(len(c.Artprune.Deleted))
	c.RequestRatio = float64(c.Artprune.Total) / float64(c.MinRequests)

	byArtprune := map[string]bool{}
	for _, f := range c.Artprune.Deleted {
		byArtprune[f] = true
	}
	byScript := map[string]bool{}
	for _, f := range c.Script.Deleted {
		byScript[f] = true
		switch reason, ok := kept[f]; {
		case byArtprune[f]:
			c.Both++
		case ok:
			c.ScriptOnly[reason]++
		default:
			c.Unexplained = append(c.Unexplained, f)
		}
	}
	for _, f := range c.Artprune.Deleted {
		if !byScript[f] {
			c.ArtpruneOnly++
		}
	}
	if len(c.Unexplained) > 0 {
		c.Failures = append(c.Failures, fmt.Sprintf("artprune neither deleted nor kept with a reason %d folders the script deleted (first: %s)",
			len(c.Unexplained), c.Unexplained[0]))
	}
	return c, nil
}

func (c *comparison) writeMarkdown(w io.Writer) {
	s, a := c.Script, c.Artprune
	row := func(name, sv, av string) { fmt.Fprintf(w, "| %s | %s | %s |\n", name, sv, av) }
	fmt.Fprintf(w, "| | shell script (skopeo#2497) | artprune prune --delete |\n| --- | ---: | ---: |\n")
	row("wall time", fmtDur(s.Wall), fmtDur(a.Wall))
	row("CPU time (user + system)", fmtDur(s.User+s.Sys), fmtDur(a.User+a.Sys))
	row("peak RSS", fmtKiB(s.MaxRSSKiB)+" ¹", fmtKiB(a.MaxRSSKiB))
	classes := slices.Sorted(maps.Keys(s.Requests))
	for _, k := range classes {
		row("requests: "+k, strconv.FormatInt(s.Requests[k], 10), strconv.FormatInt(a.Requests[k], 10))
	}
	row("requests: total", strconv.FormatInt(s.Total, 10), strconv.FormatInt(a.Total, 10))
	row("manifest folders deleted", strconv.Itoa(len(s.Deleted)), strconv.Itoa(len(a.Deleted)))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- repository: %s manifest files (%s distinct documents) in %s folders; `--generate %s --seed %s`, latency %s per request\n",
		strconv.Itoa(c.ManifestFiles), strconv.Itoa(c.DistinctDocs), strconv.Itoa(len(folders(a.Before))), c.Meta["GENERATE"], c.Meta["SEED"], c.Meta["LATENCY"])
	fmt.Fprintf(w, "- speed-up: **%.1fx** (target: at least 30x)\n", c.Speedup)
	fmt.Fprintf(w, "- artprune's requests: %d; the minimum the algorithm needs is %d (%d AQL pages + %d distinct documents + %d deletes): "+
		"**%.3fx** (target: at most 1.1x)\n", a.Total, c.MinRequests, c.InventoryPages, c.DistinctDocs, len(a.Deleted), c.RequestRatio)
	var only []string
	for _, r := range slices.Sorted(maps.Keys(c.ScriptOnly)) {
		only = append(only, fmt.Sprintf("%d %s", c.ScriptOnly[r], r))
	}
	fmt.Fprintf(w, "- deletions: both deleted %d folders; the script alone deleted %d that artprune keeps as live (%s); "+
		"artprune alone deleted %d; unexplained: %d\n",
		c.Both, len(s.Deleted)-c.Both, orNone(strings.Join(only, ", ")), c.ArtpruneOnly, len(c.Unexplained))
	verdict := "yes"
	if len(c.Unexplained) > 0 {
		verdict = "**NO**"
	}
	fmt.Fprintf(w, "- artprune deleted a superset of what the script deleted safely: %s\n", verdict)
	fmt.Fprintln(w, "\n¹ GNU time reports the largest single process of the script's tree (bash, jq, parallel, curl or skopeo), not their sum.")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func fmtDur(d time.Duration) string {
	if d >= time.Minute {
		return fmt.Sprintf("%dm%04.1fs", int(d/time.Minute), (d % time.Minute).Seconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtKiB(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
