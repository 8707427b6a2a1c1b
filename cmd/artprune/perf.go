package main

import (
	"math"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/doccache"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// perfFlags are the flags of "artprune prune" about cost, scale and politeness.
type perfFlags struct {
	measureLimit int
	cacheDir     string
	cacheMaxAge  durationValue
	rate         float64
}

// defaultCacheMaxAge is how long a cached document unused by any run stays in --cache-dir.
const defaultCacheMaxAge = 30 * 24 * time.Hour

func (p *perfFlags) register(f *pflag.FlagSet) {
	p.cacheMaxAge = durationValue(defaultCacheMaxAge)
	f.IntVar(&p.measureLimit, "measure-limit", prune.DefaultMeasureLimit, "measure the sizes of at most this many folders to delete "+
		"(their files and the other holders of their checksums are listed with AQL); above it sizes are reported unknown; 0 never measures")
	f.StringVar(&p.cacheDir, "cache-dir", "", "keep parsed manifests in this directory between runs: documents are immutable by digest, "+
		"so a run over an unchanged repository reads none (damaged entries are detected and read again)")
	f.Var(&p.cacheMaxAge, "cache-max-age", "drop cached documents no run has used for this long (checked once a day)")
	f.Float64Var(&p.rate, "rate", 0, "send at most this many requests per second to Artifactory (0: no limit; 429 answers always slow the run down)")
}

func (p *perfFlags) validate() error {
	switch {
	case p.measureLimit < 0:
		return usageErrorf("--measure-limit %d: want 0 (never measure) or more", p.measureLimit)
	case p.rate < 0:
		return usageErrorf("--rate %v: want requests per second, or 0 for no limit", p.rate)
	case p.cacheMaxAge <= 0:
		return usageErrorf("--cache-max-age must be positive")
	}
	return nil
}

// clientOptions returns the Artifactory client's options that come from these flags: the rate, and a cap of
// concurrency requests in flight whatever the caller does.
func (p *perfFlags) clientOptions(concurrency int) []artifactory.Option {
	return []artifactory.Option{artifactory.WithRate(p.rate), artifactory.WithMaxInFlight(concurrency)}
}

// defaultMemoryLimit is the soft limit artprune gives Go's garbage collector unless GOMEMLIMIT is set: it collects
// more often rather than let the heap double past it. A plan of a million folders holds about 300 MiB; the limit
// keeps such a run under 512 MiB of RSS. A repository that needs more gets more, at the cost of more collection.
const defaultMemoryLimit = 448 << 20

// setMemoryLimit applies defaultMemoryLimit unless a limit was set (GOMEMLIMIT).
func setMemoryLimit() {
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// runOptions sets the run's options that come from these flags. A cache directory that cannot be opened is
// logged and the run goes on without it: the cache only saves reads.
func (p *perfFlags) runOptions(o *run.Options) {
	setMemoryLimit()
	o.MeasureLimit = p.measureLimit
	if p.measureLimit == 0 {
		o.MeasureLimit = -1 // never
	}
	if p.cacheDir == "" {
		return
	}
	c, err := doccache.Open(p.cacheDir, o.Logger)
	if err != nil {
		o.Logger.Warn("the document cache cannot be used; every document will be read", "cache_dir", p.cacheDir, "error", err)
		return
	}
	if c.SweepDue(24 * time.Hour) {
		n, err := c.Sweep(time.Duration(p.cacheMaxAge))
		o.Logger.Info("document cache swept", "cache_dir", p.cacheDir, "removed", n, "error", err)
	}
	o.Documents = c
}
