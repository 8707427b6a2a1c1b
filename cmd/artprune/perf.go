package main

import (
	"github.com/spf13/pflag"

	"github.com/artprune/artprune/prune"
)

// perfFlags are the flags of "artprune prune" about cost and scale.
type perfFlags struct {
	measureLimit int
}

func (p *perfFlags) register(f *pflag.FlagSet) {
	f.IntVar(&p.measureLimit, "measure-limit", prune.DefaultMeasureLimit, "measure the sizes of at most this many folders to delete "+
		"(their files and the other holders of their checksums are listed with AQL); above it sizes are reported unknown; 0 never measures")
}

func (p *perfFlags) validate() error {
	if p.measureLimit < 0 {
		return usageErrorf("--measure-limit %d: want 0 (never measure) or more", p.measureLimit)
	}
	return nil
}

// plannerOptions sets the planner's options that come from these flags.
func (p *perfFlags) plannerOptions(o *prune.Options) {
	o.MeasureLimit = p.measureLimit
	if p.measureLimit == 0 {
		o.MeasureLimit = -1 // never
	}
}
