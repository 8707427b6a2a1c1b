package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scalePoint is one size of a bench-scale run.
type scalePoint struct {
	Images        int
	DigestFolders int // the generator's count, referrers included
	Files         int
	Wall          time.Duration
	CPU           time.Duration
	EmulatorCPU   time.Duration // the emulator's CPU time during the run
	MaxRSSKiB     int64
	Requests      map[string]int64
	Total         int64
	Deletions     int
	DocumentsRead int
	Inventory     string // the inventory phase's duration, as artprune logged it
	Documents     string // the documents phase's duration
	ExitCode      string
	Load          string
	// The runs with --cache-dir, when made: the first fills the cache, the second finds the repository unchanged.
	CacheCold, CacheWarm cacheRun
}

// cacheRun is one run with --cache-dir.
type cacheRun struct {
	Wall            time.Duration
	MaxRSSKiB       int64
	Read, FromCache int
	Measured        bool
}

func loadCacheRun(dir, pass string) cacheRun {
	var c cacheRun
	wall, _, _, rss, err := parseTimeV(filepath.Join(dir, "cache-"+pass+"-time.txt"))
	if err != nil {
		return c
	}
	c.Wall, c.MaxRSSKiB, c.Measured = wall, rss, true
	if b, err := os.ReadFile(filepath.Join(dir, "cache-"+pass+"-stderr.txt")); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if kv := logfmt(line); kv["msg"] == "planned repository" {
				c.Read, _ = strconv.Atoi(kv["documents_read"])
				c.FromCache, _ = strconv.Atoi(kv["documents_from_cache"])
			}
		}
	}
	return c
}

// The scale targets of the issue, for 1,000,000 manifest folders.
const (
	scaleTargetFolders = 1_000_000
	scaleTargetWall    = 2 * time.Minute
	scaleTargetRSSMiB  = 512
)

func runScaleReport(args []string) error {
	fs := flag.NewFlagSet("scale-report", flag.ContinueOnError)
	dir := fs.String("dir", "", "bench-scale directory")
	mdOut := fs.String("markdown", "", "also write the table to this file")
	tsvOut := fs.String("tsv", "", "write folders, wall seconds, peak RSS MiB and CPU seconds, tab-separated, for gnuplot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("scale-report: --dir is required")
	}
	dirs, _ := filepath.Glob(filepath.Join(*dir, "images-*"))
	var points []scalePoint
	for _, d := range dirs {
		p, err := loadScalePoint(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		points = append(points, p)
	}
	slices.SortFunc(points, func(a, b scalePoint) int { return cmp.Compare(a.DigestFolders, b.DigestFolders) })
	var md strings.Builder
	writeScaleMarkdown(&md, points)
	fmt.Print(md.String())
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md.String()), 0o644); err != nil {
			return err
		}
	}
	if *tsvOut != "" {
		var b strings.Builder
		b.WriteString("# folders\twall_s\trss_mib\tcpu_s\n")
		for _, p := range points {
			fmt.Fprintf(&b, "%d\t%.2f\t%.1f\t%.2f\n", p.DigestFolders, p.Wall.Seconds(), float64(p.MaxRSSKiB)/1024, p.CPU.Seconds())
		}
		if err := os.WriteFile(*tsvOut, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func loadScalePoint(dir string) (scalePoint, error) {
	var p scalePoint
	p.Images, _ = strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "images-"))
	wall, user, sys, rss, err := parseTimeV(filepath.Join(dir, "time.txt"))
	if err != nil {
		return p, err
	}
	p.Wall, p.CPU, p.MaxRSSKiB = wall, user+sys, rss
	if b, err := os.ReadFile(filepath.Join(dir, "stats.json")); err == nil {
		var st struct {
			Requests map[string]int64 `json:"requests"`
			Total    int64            `json:"total"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return p, err
		}
		p.Requests, p.Total = st.Requests, st.Total
	}
	if b, err := os.ReadFile(filepath.Join(dir, "generated.txt")); err == nil {
		kv := logfmt(string(b))
		p.DigestFolders, _ = strconv.Atoi(kv["digest_folders"])
		p.Files, _ = strconv.Atoi(kv["files"])
	}
	if b, err := os.ReadFile(filepath.Join(dir, "emulator-cpu")); err == nil {
		var ticks, hz float64
		if _, err := fmt.Sscan(string(b), &ticks, &hz); err == nil && hz > 0 {
			p.EmulatorCPU = time.Duration(ticks / hz * float64(time.Second))
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "exit-code")); err == nil {
		p.ExitCode = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "load")); err == nil {
		p.Load = strings.TrimPrefix(strings.TrimSpace(string(b)), "LOAD=")
	}
	p.CacheCold, p.CacheWarm = loadCacheRun(dir, "cold"), loadCacheRun(dir, "warm")
	f, err := os.Open(filepath.Join(dir, "stderr.txt"))
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		kv := logfmt(sc.Text())
		switch {
		case kv["msg"] == "planned repository":
			p.Deletions, _ = strconv.Atoi(kv["deletions"])
			p.DocumentsRead, _ = strconv.Atoi(kv["documents_read"])
		case kv["msg"] == "phase done" && kv["phase"] == "inventory":
			p.Inventory = kv["took"]
		case kv["msg"] == "phase done" && kv["phase"] == "documents":
			p.Documents = kv["took"]
		}
	}
	return p, sc.Err()
}

// logfmt reads the key=value pairs of a slog text line.
func logfmt(line string) map[string]string {
	kv := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			v, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		kv[k], line = v, rest
	}
	return kv
}

func writeScaleMarkdown(w *strings.Builder, points []scalePoint) {
	fmt.Fprintln(w, "| digest folders | files in the emulator | artprune wall time | artprune CPU (user + system) | emulator CPU | peak RSS | requests (AQL / reads) | documents read | deletions planned | inventory | documents | exit |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, p := range points {
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %d (%d / %d) | %d | %d | %s | %s | %s |\n",
			p.DigestFolders, p.Files, fmtDur(p.Wall), fmtDur(p.CPU), fmtDur(p.EmulatorCPU), fmtKiB(p.MaxRSSKiB), p.Total, p.Requests["aql"], p.Requests["download"],
			p.DocumentsRead, p.Deletions, orDash(p.Inventory), orDash(p.Documents), p.ExitCode)
	}
	fmt.Fprintln(w)
	first := true
	for _, p := range points {
		if !p.CacheCold.Measured || !p.CacheWarm.Measured {
			continue
		}
		if first {
			fmt.Fprintln(w, "With `--cache-dir` (a scheduled run): the first run fills the cache, the second finds the repository unchanged.")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| digest folders | first run: wall time | documents read | second run: wall time | documents read | from the cache | peak RSS |")
			fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
			first = false
		}
		fmt.Fprintf(w, "| %d | %s | %d | %s | %d | %d | %s |\n", p.DigestFolders, fmtDur(p.CacheCold.Wall), p.CacheCold.Read,
			fmtDur(p.CacheWarm.Wall), p.CacheWarm.Read, p.CacheWarm.FromCache, fmtKiB(p.CacheWarm.MaxRSSKiB))
	}
	if !first {
		fmt.Fprintln(w)
	}
	for _, p := range points {
		if p.DigestFolders < scaleTargetFolders {
			continue
		}
		rss := float64(p.MaxRSSKiB) / 1024
		verdict := func(ok bool, got, want string) string {
			if ok {
				return fmt.Sprintf("met (%s, target %s)", got, want)
			}
			return fmt.Sprintf("**not met** (%s, target %s)", got, want)
		}
		fmt.Fprintf(w, "- %d folders: peak RSS %s; wall time %s. artprune and the emulator used %s of CPU together, "+
			"%s on each of 2 cores (load average before the run: %s).\n", p.DigestFolders,
			verdict(rss <= scaleTargetRSSMiB, fmt.Sprintf("%.0f MiB", rss), fmt.Sprintf("%d MiB", scaleTargetRSSMiB)),
			verdict(p.Wall <= scaleTargetWall, fmtDur(p.Wall), fmtDur(scaleTargetWall)), fmtDur(p.CPU+p.EmulatorCPU),
			fmtDur((p.CPU+p.EmulatorCPU)/2), orDash(p.Load))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
