package prune

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteMarkdown writes a short summary of the report for people reading a CI job's summary page (GitHub's
// $GITHUB_STEP_SUMMARY, GitLab's job summaries): one table row per repository, then what was skipped or not
// applied. It needs only the report's head (see [NewReportHead]).
func (r *Report) WriteMarkdown(w io.Writer, took time.Duration) error {
	var b strings.Builder
	mode := "deleted"
	if r.DryRun {
		mode = "would delete"
	}
	title := "artprune"
	if r.DryRun {
		title += " (dry run: nothing was deleted)"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	fmt.Fprintf(&b, "| repository | status | images | digest folders | kept | %s | failed | freed (estimate) |\n", mode)
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, rr := range r.Repositories {
		s := rr.Summary
		status := "ok"
		switch {
		case rr.Error != "":
			status = "FAILED: " + firstLine(rr.Error)
		case s.FailedImages > 0:
			status = fmt.Sprintf("%d images skipped", s.FailedImages)
		}
		done := s.Outcomes.Deleted + s.Outcomes.AlreadyGone
		if r.DryRun {
			done = s.Outcomes.WouldDelete
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s |\n", mdEscape(rr.Repo), mdEscape(status), s.Images,
			s.DigestFolders, s.Kept.Total, done, s.Outcomes.Forbidden+s.Outcomes.Failed+s.Outcomes.NotAttempted, mdBytes(s.FreedBytesEstimate))
	}
	t := r.Totals
	fmt.Fprintf(&b, "\n**Total:** %d repositories (%d failed), %d digest folders, kept %d, %s %d", t.Repositories,
		t.FailedRepositories, t.DigestFolders, t.Kept.Total, mode, t.Deletions)
	if t.FreedBytesEstimate != nil {
		fmt.Fprintf(&b, ", about %s freed once the Trash Can is emptied", HumanBytes(*t.FreedBytesEstimate))
	}
	if took > 0 {
		fmt.Fprintf(&b, ", in %s", took.Round(time.Second))
	}
	b.WriteString(".\n")
	if len(r.SkippedRepositories) > 0 {
		b.WriteString("\nSkipped repositories:\n\n")
		for _, s := range r.SkippedRepositories {
			fmt.Fprintf(&b, "- `%s`: %s\n", s.Repo, mdEscape(s.Reason))
		}
	}
	for _, rr := range r.Repositories {
		if len(rr.DeletedTags) > 0 {
			fmt.Fprintf(&b, "\nTags (artprune delete) in `%s` (%d):\n\n", rr.Repo, len(rr.DeletedTags))
			for _, td := range rr.DeletedTags {
				fmt.Fprintf(&b, "- `%s`: %s\n", td.Path, mdEscape(td.Outcome))
			}
		}
	}
	for _, rr := range r.Repositories {
		if len(rr.NotApplied) > 0 {
			fmt.Fprintf(&b, "\nNot applied in `%s` (%d):\n\n", rr.Repo, len(rr.NotApplied))
			for _, na := range rr.NotApplied {
				fmt.Fprintf(&b, "- `%s`: %s\n", na.Path, mdEscape(firstLine(na.Why)))
			}
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, escapeInvisible(b.String()))
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// mdEscape keeps server-supplied text from breaking the table or adding markup.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(s)
}

func mdBytes(n *int64) string {
	if n == nil {
		return "unknown"
	}
	return HumanBytes(*n)
}
