package artifactory

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/artprune/artprune/prune"
)

// ErrClockDisagrees means the clocks artprune can see (the Date headers of the ping and of the AQL answers, and
// the local clock) disagree by more than a run may trust. Ages are measured on the ping's clock, so a proxy that
// writes Date from its own wrong clock would make young manifests look old. (nginx writes its own Date by default:
// it does not pass the proxied server's, per proxy_hide_header in the ngx_http_proxy_module documentation.)
var ErrClockDisagrees = errors.New("the clocks disagree")

// ClockWarnAbove is the disagreement above which [ClockReport.Check] warns.
const ClockWarnAbove = time.Minute

// clockWatch gathers, without any request of its own, what the Date headers of the answers artprune gets anyway
// say about the server's clock. Each answer bounds the offset of the clock that wrote its Date from the local
// clock: Date was written between the moment the request was sent and the moment the answer arrived, and has a
// resolution of one second. Each source of Date headers (the ping, the AQL answers) keeps the latest lower bound
// and the earliest upper bound of its offset; the local clock is exactly [0, 0]. Two sources certainly disagree by
// the gap between the latest lower bound of one and the earliest upper bound of the other.
type clockWatch struct {
	mu      sync.Mutex
	samples int
	sources []*clockSource // the local clock first
}

type clockSource struct {
	name           string
	lo, hi         time.Duration // bounds of the offset from the local clock
	loDate, hiDate string        // the Date headers that set them ("" for the local clock)
}

func newClockWatch() *clockWatch {
	w := &clockWatch{}
	w.reset()
	return w
}

func (w *clockWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples, w.sources = 0, []*clockSource{{name: "the local clock"}}
}

// observe records the Date header of an answer to a request sent at sent and answered at received (local clock).
// An answer without a valid Date says nothing and is ignored (the ping, which ages rest on, checks its own).
func (w *clockWatch) observe(source string, resp *http.Response, sent, received time.Time) {
	if resp == nil {
		return
	}
	h := resp.Header.Get("Date")
	date, err := http.ParseTime(h)
	if err != nil {
		return
	}
	// The server's time when it wrote Date lies in [date, date+1s); the local time then in [sent, received].
	lo := date.Sub(received)
	hi := date.Add(time.Second).Sub(sent)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples++
	var src *clockSource
	for _, s := range w.sources {
		if s.name == source {
			src = s
		}
	}
	if src == nil {
		w.sources = append(w.sources, &clockSource{name: source, lo: lo, hi: hi, loDate: h, hiDate: h})
		return
	}
	if lo > src.lo {
		src.lo, src.loDate = lo, h
	}
	if hi < src.hi {
		src.hi, src.hiDate = hi, h
	}
}

// ClockReport is what the Date headers seen so far say.
type ClockReport struct {
	// Samples counts the answers whose Date was read.
	Samples int
	// Disagreement is the largest gap by which two of the clocks certainly disagree (zero when they may all agree).
	Disagreement time.Duration
	// Gaps says, largest first, which clock is ahead of which and by at least how much, for every pair that
	// certainly disagrees by more than a second.
	Gaps []string
}

// ClockReport returns what the Date headers of the ping and the AQL answers since the last [Client.ResetClock]
// say about the clocks, compared with each other and with the local clock.
func (c *Client) ClockReport() ClockReport {
	w := c.clock
	w.mu.Lock()
	defer w.mu.Unlock()
	r := ClockReport{Samples: w.samples}
	type gap struct {
		d    time.Duration
		text string
	}
	var gaps []gap
	for _, a := range w.sources {
		for _, b := range w.sources {
			if d := a.lo - b.hi; a != b && d > time.Second {
				gaps = append(gaps, gap{d, fmt.Sprintf("%s is at least %s ahead of %s", describe(a.name, a.loDate), d.Round(time.Second), describe(b.name, b.hiDate))})
			}
		}
	}
	slices.SortFunc(gaps, func(x, y gap) int { return cmp.Compare(y.d, x.d) })
	for i, g := range gaps {
		if i == 0 {
			r.Disagreement = g.d
		}
		r.Gaps = append(r.Gaps, g.text)
	}
	return r
}

// ResetClock forgets the Date headers seen so far: serve calls it at the start of every run.
func (c *Client) ResetClock() { c.clock.reset() }

func describe(name, date string) string {
	if date == "" {
		return name
	}
	return fmt.Sprintf("%s (Date: %s)", name, date)
}

// Check judges the report for a run whose grace period is minAge: a disagreement above a tenth of minAge is an
// error wrapping ErrClockDisagrees (what the run knows of ages is not good enough to delete on), one above
// ClockWarnAbove a warning.
func (r ClockReport) Check(minAge time.Duration) (warning string, err error) {
	if r.Disagreement <= ClockWarnAbove && r.Disagreement <= minAge/10 {
		return "", nil
	}
	what := strings.Join(r.Gaps, "; ")
	if r.Disagreement > minAge/10 {
		return "", fmt.Errorf("%s: %w: ages are measured on the server's clock (the ping's Date), and a disagreement above a "+
			"tenth of the grace period (%s) could make young manifests look old; check that Artifactory, any proxy in "+
			"front of it (a proxy may write Date from its own clock) and this machine keep time (NTP)",
			what, ErrClockDisagrees, prune.HumanDuration(minAge/10))
	}
	return what + ": check that Artifactory, any proxy in front of it and this machine keep time (NTP)", nil
}
