package planfile

import (
	"fmt"
	"strings"
	"time"
)

// Weakening is a setting of a plan that protects less than artprune's default. Nothing authenticates a plan file,
// so apply refuses such a setting unless the person running it gives the same value again on its command line.
type Weakening struct {
	// Flag is the flag that sets it ("min-age", "keep-property").
	Flag string
	// Plan is the plan's value; Default is artprune's.
	Plan, Default string
	// Why says, in a few words, what the plan's value does.
	Why string
}

func (w Weakening) String() string {
	return fmt.Sprintf("%s %q (the default is %q: %s)", w.Flag, w.Plan, w.Default, w.Why)
}

// Weakenings returns the settings of p that protect less than the defaults: a grace period shorter than minAge, and
// a keep property other than keepProperty (empty turns protection off; another property protects only folders
// carrying it, which nothing may). The image filters are never weaker: they only narrow what is judged, and an
// image's folders are judged within the image alone.
func (p *Plan) Weakenings(minAge time.Duration, keepProperty string) []Weakening {
	var out []Weakening
	if p.MinAge() < minAge {
		out = append(out, Weakening{Flag: "min-age", Plan: FormatDuration(p.MinAge()), Default: FormatDuration(minAge),
			Why: "a shorter grace period can delete the children of a push still in progress"})
	}
	if p.KeepProperty != keepProperty {
		why := "folders carrying " + keepProperty + " are not protected"
		if p.KeepProperty == "" {
			why = "protection by property is off"
		}
		out = append(out, Weakening{Flag: "keep-property", Plan: p.KeepProperty, Default: keepProperty, Why: why})
	}
	return out
}

// Summary returns the plan's settings on one line, for apply to show before it does anything.
func (p *Plan) Summary() string {
	keep := p.KeepProperty
	if keep == "" {
		keep = "none (protection off)"
	}
	list := func(globs []string) string {
		if len(globs) == 0 {
			return "none"
		}
		return strings.Join(globs, ", ")
	}
	extra := ""
	if p.KeepPulledWithinSeconds > 0 {
		extra += ", keep-pulled-within " + FormatDuration(p.KeepPulledWithin())
	}
	if len(p.DeleteTags) > 0 {
		extra += ", delete-tags " + list(p.DeleteTags)
	}
	return fmt.Sprintf("min-age %s, keep-property %s, include-image %s, exclude-image %s%s, url %s, made %s by artprune %s",
		FormatDuration(p.MinAge()), keep, list(p.IncludeImages), list(p.ExcludeImages), extra, p.URL, p.CreatedAt, p.ArtpruneVersion)
}

// FormatDuration writes d as artprune's flags take it: whole days as "7d", anything else as Go does ("36h0m0s").
func FormatDuration(d time.Duration) string {
	if d != 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
