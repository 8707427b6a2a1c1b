package prune_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// TestWriteReportStreams checks that the streaming writers write exactly what NewReport's report encodes to.
func TestWriteReportStreams(t *testing.T) {
	ctx := context.Background()
	s, repos := reportFixture(t)
	p := newPlanner(t, s, prune.Options{KeepProperty: "artprune.keep=true"})
	var plans []*prune.RepoPlan
	for _, r := range repos {
		if r == "docker-broken" {
			s.manifestsErr = fmt.Errorf("aql page 2: results trimmed: %w", prune.ErrIncomplete)
		}
		plan, _ := p.Plan(ctx, r)
		plans = append(plans, plan)
	}
	s.manifestsErr = nil
	check := func(name string, dryRun bool, plans []*prune.RepoPlan, results []*prune.ApplyResult) {
		t.Helper()
		report := prune.NewReport(dryRun, plans, results)
		want, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		totals, err := prune.WriteReportJSON(&got, dryRun, plans, results)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: WriteReportJSON differs from NewReport's JSON:\n%s\nwant:\n%s", name, got.Bytes(), want)
		}
		if a, b := mustJSON(t, totals), mustJSON(t, report.Totals); a != b {
			t.Errorf("%s: totals %+v, want %+v", name, totals, report.Totals)
		}
		var wantText, gotText bytes.Buffer
		if err := report.WriteText(&wantText); err != nil {
			t.Fatal(err)
		}
		if _, err := prune.WriteReportText(&gotText, dryRun, plans, results); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotText.Bytes(), wantText.Bytes()) {
			t.Errorf("%s: WriteReportText differs from Report.WriteText:\n%s\nwant:\n%s", name, gotText.Bytes(), wantText.Bytes())
		}
	}
	check("dry run", true, plans, nil)
	check("no repositories", true, nil, nil)
	check("one failed repository", true, plans[1:], nil)

	s.now = t0.Add(3 * time.Minute)
	s.put("busy/v2", m2(t), 0)
	var results []*prune.ApplyResult
	for _, plan := range plans {
		_ = prune.Recheck(ctx, s, plan)
		results = append(results, prune.Apply(ctx, s, plan, 2))
	}
	check("real run", false, plans, results)
	check("real run, results missing", false, plans, nil)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
