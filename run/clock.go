package run

import (
	"fmt"

	"github.com/artprune/artprune/prune"
)

// checkClock compares the clocks the run has seen so far (the Date headers of the ping and of the AQL answers, and
// the local clock; no request of its own) and fails plan closed, as a failed re-check does, when they disagree by
// more than a tenth of the grace period; a smaller disagreement above a minute is a warning, once per run.
func (s *runner) checkClock(plan *prune.RepoPlan, warned *bool) {
	if plan.Err != nil {
		return
	}
	rep := s.client.ClockReport()
	warning, err := rep.Check(s.opts.MinAge)
	switch {
	case err != nil:
		plan.Err = fmt.Errorf("repository %s: %w", plan.Repo, err)
		s.log.Error("the clocks disagree: nothing is deleted in this repository", "repo", plan.Repo, "error", err)
	case warning != "" && !*warned:
		*warned = true
		s.log.Warn("the clocks disagree", "repo", plan.Repo, "disagreement", rep.Disagreement.String(), "detail", warning)
	}
}
