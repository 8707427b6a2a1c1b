// Package metrics exposes the outcome of artprune runs as Prometheus metrics, on a private registry (never the
// global default one): written to a textfile for node_exporter's textfile collector, pushed to a Pushgateway, or
// served on /metrics by artprune serve.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/artprune/artprune/prune"
)

// Namespace prefixes every metric.
const Namespace = "artprune"

// LastSuccessName is the full name of the last-success gauge.
const LastSuccessName = Namespace + "_last_success_timestamp_seconds"

// Run is what one run produced.
type Run struct {
	Report   *prune.Report
	Finished time.Time
	Duration time.Duration
	// Success is true when the run ended with exit code 0.
	Success bool
}

// Metrics holds artprune's metrics. The per-run gauges describe the last run observed; the counters (used by
// serve) accumulate.
type Metrics struct {
	reg *prometheus.Registry

	mu                  sync.Mutex
	scanned, kept       *prometheus.GaugeVec
	deletions           *prometheus.GaugeVec
	deleted, failed     *prometheus.GaugeVec
	freed, reclaimable  *prometheus.GaugeVec
	repoFailed          *prometheus.GaugeVec
	duration, success   prometheus.Gauge
	dryRun              prometheus.Gauge
	lastRun, lastOK     prometheus.Gauge
	runs                *prometheus.CounterVec
	skippedTicks        prometheus.Counter
	inProgress          prometheus.Gauge
	lastSuccessObserved time.Time
}

// New returns metrics on a fresh private registry. withServe adds the counters of artprune serve.
func New(withServe bool) *Metrics {
	repo := []string{"repo"}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		scanned:     gv("folders_scanned", "Digest folders judged in the last run.", repo...),
		kept:        gv("folders_kept", "Digest folders kept in the last run, by reason.", "repo", "reason"),
		deletions:   gv("deletions", "Planned deletions of the last run, by outcome.", "repo", "outcome"),
		deleted:     gv("folders_deleted", "Digest folders deleted in the last run (already gone included).", repo...),
		failed:      gv("folders_failed", "Deletions of the last run that were refused or failed.", repo...),
		freed:       gv("bytes_freed_estimate", "Estimated bytes freed by the last run's deletions (0 for a dry run), once the Trash Can is emptied and garbage collection runs.", repo...),
		reclaimable: gv("bytes_reclaimable_estimate", "Estimated bytes the last run's plan frees (a dry run included).", repo...),
		repoFailed:  gv("repository_failed", "1 if the repository failed in the last run (nothing deleted in it).", repo...),
		duration:    g("run_duration_seconds", "Duration of the last run."),
		success:     g("run_success", "1 if the last run succeeded (exit code 0)."),
		dryRun:      g("dry_run", "1 if the last run was a dry run."),
		lastRun:     g("last_run_timestamp_seconds", "Unix time the last run finished."),
		lastOK:      g("last_success_timestamp_seconds", "Unix time the last successful run finished."),
	}
	m.reg.MustRegister(m.scanned, m.kept, m.deletions, m.deleted, m.failed, m.freed, m.reclaimable, m.repoFailed,
		m.duration, m.success, m.dryRun, m.lastRun)
	if withServe {
		m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "runs_total", Help: "Runs by result."}, []string{"result"})
		m.skippedTicks = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "ticks_skipped_total",
			Help: "Scheduled runs skipped because the previous run was still going."})
		m.inProgress = g("run_in_progress", "1 while a run is going.")
		m.reg.MustRegister(m.runs, m.skippedTicks, m.inProgress)
		m.runs.WithLabelValues("success")
		m.runs.WithLabelValues("failure")
	}
	return m
}

// Registry returns the private registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetLastSuccess sets the last-success time (a textfile carries the previous one over a failed run).
func (m *Metrics) SetLastSuccess(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLastSuccessLocked(t)
}

func (m *Metrics) setLastSuccessLocked(t time.Time) {
	if t.IsZero() {
		return
	}
	if m.lastSuccessObserved.IsZero() {
		m.reg.MustRegister(m.lastOK) // absent until a run has succeeded: no 1970 timestamps
	}
	m.lastSuccessObserved = t
	m.lastOK.Set(float64(t.UnixNano()) / 1e9)
}

// Observe sets the per-run metrics from run.
func (m *Metrics) Observe(run Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range []*prometheus.GaugeVec{m.scanned, m.kept, m.deletions, m.deleted, m.failed, m.freed, m.reclaimable, m.repoFailed} {
		v.Reset()
	}
	if r := run.Report; r != nil {
		for _, rr := range r.Repositories {
			s := rr.Summary
			m.scanned.WithLabelValues(rr.Repo).Set(float64(s.DigestFolders))
			k := s.Kept
			for reason, n := range map[prune.Reason]int{
				prune.ReasonImageSkipped: k.ImageSkipped, prune.ReasonTagDigest: k.TagDigest, prune.ReasonTagged: k.Tagged,
				prune.ReasonReferrer: k.Referrer, prune.ReasonProtected: k.Protected, prune.ReasonPulled: k.Pulled, prune.ReasonYoung: k.Young,
				prune.ReasonChanged: k.ChangedDuringRun, prune.ReasonNotApproved: k.NotApproved,
			} {
				m.kept.WithLabelValues(rr.Repo, string(reason)).Set(float64(n))
			}
			o := s.Outcomes
			for outcome, n := range map[prune.Outcome]int{
				prune.OutcomeWouldDelete: o.WouldDelete, prune.OutcomeDeleted: o.Deleted, prune.OutcomeAlreadyGone: o.AlreadyGone,
				prune.OutcomeForbidden: o.Forbidden, prune.OutcomeFailed: o.Failed, prune.OutcomeNotAttempted: o.NotAttempted,
			} {
				m.deletions.WithLabelValues(rr.Repo, string(outcome)).Set(float64(n))
			}
			m.deleted.WithLabelValues(rr.Repo).Set(float64(o.Deleted + o.AlreadyGone))
			m.failed.WithLabelValues(rr.Repo).Set(float64(o.Forbidden + o.Failed))
			var freed, reclaimable float64
			if s.FreedBytesEstimate != nil {
				reclaimable = float64(*s.FreedBytesEstimate)
				if !r.DryRun && o.Deleted+o.AlreadyGone == s.Deletions {
					freed = reclaimable
				}
			}
			m.freed.WithLabelValues(rr.Repo).Set(freed)
			m.reclaimable.WithLabelValues(rr.Repo).Set(reclaimable)
			failed := 0.0
			if rr.Error != "" {
				failed = 1
			}
			m.repoFailed.WithLabelValues(rr.Repo).Set(failed)
		}
		m.dryRun.Set(b2f(r.DryRun))
	}
	m.duration.Set(run.Duration.Seconds())
	m.success.Set(b2f(run.Success))
	m.lastRun.Set(float64(run.Finished.UnixNano()) / 1e9)
	if run.Success {
		m.setLastSuccessLocked(run.Finished)
	}
	if m.runs != nil {
		result := "failure"
		if run.Success {
			result = "success"
		}
		m.runs.WithLabelValues(result).Inc()
	}
}

// SkippedTick counts a scheduled run skipped because the previous one was still going (serve only).
func (m *Metrics) SkippedTick() {
	if m.skippedTicks != nil {
		m.skippedTicks.Inc()
	}
}

// SetInProgress says whether a run is going (serve only).
func (m *Metrics) SetInProgress(on bool) {
	if m.inProgress != nil {
		m.inProgress.Set(b2f(on))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteTextfile writes the metrics of run to path (atomically) for node_exporter's textfile collector. A failed
// run keeps the last-success time of the file it replaces.
func WriteTextfile(path string, run Run) error {
	m := New(false)
	if !run.Success {
		if prev, err := ReadLastSuccess(path); err == nil {
			m.SetLastSuccess(prev)
		}
	}
	m.Observe(run)
	return prometheus.WriteToTextfile(path, m.reg)
}

// ReadLastSuccess reads the last-success time from a metrics textfile.
func ReadLastSuccess(path string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	fams, err := Parse(f)
	if err != nil {
		return time.Time{}, err
	}
	fam, ok := fams[LastSuccessName]
	if !ok || len(fam.GetMetric()) == 0 || fam.GetMetric()[0].GetGauge() == nil {
		return time.Time{}, errors.New("no last-success time")
	}
	v := fam.GetMetric()[0].GetGauge().GetValue()
	return time.Unix(0, int64(v*1e9)), nil
}

// Push pushes the metrics of run to the Pushgateway at url under job. A successful run replaces the job's
// metrics (PUT); a failed run updates them but leaves the last-success time the gateway holds (POST without it).
func Push(ctx context.Context, url, job string, run Run, client *http.Client) error {
	m := New(false)
	m.Observe(run)
	p := push.New(url, job).Gatherer(m.reg)
	if client != nil {
		p = p.Client(client)
	}
	var err error
	if run.Success {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", redact(url), err)
	}
	return nil
}

// redact drops user info from a URL for messages.
func redact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// Parse reads a text exposition (Prometheus's classic metric names).
func Parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(r)
}
