// Package progress shows the progress of artprune's long phases (inventory, document reads, deletes): bars on a
// terminal, and log lines at phase boundaries elsewhere (CI, cron, files), so that a job's log says where time went
// without filling with redraws.
package progress

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Phase names.
const (
	PhaseInventory = "inventory"
	PhaseDocuments = "documents"
	PhaseDeletes   = "deletes"
)

// Reporter shows phases. Its methods are safe for concurrent use.
type Reporter interface {
	// Start begins a phase of repo; total is the expected count, or 0 when unknown.
	Start(repo, phase string, total int64) Phase
	// Close ends the display, waiting for it to draw its last state.
	Close()
}

// Phase is one running phase. Add may be called from many goroutines.
type Phase interface {
	// Add counts n more items done.
	Add(n int64)
	// SetTotal changes the expected count.
	SetTotal(total int64)
	// Done ends the phase.
	Done()
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Nop is a Reporter that shows nothing.
type Nop struct{}

// Start implements Reporter.
func (Nop) Start(string, string, int64) Phase { return nopPhase{} }

// Close implements Reporter.
func (Nop) Close() {}

type nopPhase struct{}

func (nopPhase) Add(int64)      {}
func (nopPhase) SetTotal(int64) {}
func (nopPhase) Done()          {}

// NewLog returns a Reporter that logs each phase's start at debug level and its end at info level, with the
// count, the duration and the rate.
func NewLog(log *slog.Logger) Reporter { return &logReporter{log: log} }

type logReporter struct{ log *slog.Logger }

func (r *logReporter) Start(repo, phase string, total int64) Phase {
	p := &logPhase{log: r.log, repo: repo, phase: phase, began: time.Now()}
	p.total.Store(total)
	r.log.Debug("phase started", "repo", repo, "phase", phase, "expected", total)
	return p
}

func (r *logReporter) Close() {}

type logPhase struct {
	log         *slog.Logger
	repo, phase string
	began       time.Time
	n, total    atomic.Int64
	once        sync.Once
}

func (p *logPhase) Add(n int64)          { p.n.Add(n) }
func (p *logPhase) SetTotal(total int64) { p.total.Store(total) }
func (p *logPhase) Done() {
	p.once.Do(func() {
		took := time.Since(p.began)
		n := p.n.Load()
		rate := 0.0
		if took > 0 {
			rate = float64(n) / took.Seconds()
		}
		p.log.Info("phase done", "repo", p.repo, "phase", p.phase, "count", n,
			"took", took.Round(time.Millisecond), "per_second", float64(int64(rate*10))/10)
	})
}

// Bars draws progress bars on w (a terminal).
type Bars struct {
	p *mpb.Progress
}

// NewBars returns a Reporter drawing bars on w.
func NewBars(w io.Writer) *Bars { return newBars(w) }

func newBars(w io.Writer, extra ...mpb.ContainerOption) *Bars {
	opts := append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150 * time.Millisecond)}, extra...)
	return &Bars{p: mpb.New(opts...)}
}

// Writer returns a writer whose lines print above the bars (for logs while bars run).
func (b *Bars) Writer() io.Writer { return b.p }

// Start implements Reporter.
func (b *Bars) Start(repo, phase string, total int64) Phase {
	name := repo + " " + phase
	opts := []mpb.BarOption{
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CurrentNoUnit("%d", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.AverageSpeed(nil, "%.1f/s", decor.WCSyncSpace), decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace)),
	}
	var bar *mpb.Bar
	if total > 0 {
		opts[0] = mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CountersNoUnit("%d / %d", decor.WCSyncSpace))
		bar = b.p.AddBar(total, opts...)
	} else {
		bar = b.p.AddSpinner(0, opts...)
	}
	return &barPhase{bar: bar, known: total > 0}
}

// Close implements Reporter.
func (b *Bars) Close() { b.p.Wait() }

type barPhase struct {
	bar   *mpb.Bar
	known bool
	once  sync.Once
}

func (p *barPhase) Add(n int64) { p.bar.IncrInt64(n) }
func (p *barPhase) SetTotal(total int64) {
	if total > 0 {
		p.bar.SetTotal(total, false)
	}
}
func (p *barPhase) Done() {
	// Completing at the current count: the total may have been an estimate.
	p.once.Do(func() { p.bar.SetTotal(-1, true) })
}
