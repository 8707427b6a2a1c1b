// Package run is artprune as a Go library: one run over the local Docker repositories of an Artifactory, as the
// artprune command runs it for prune, plan, apply, delete and serve, and the restore of a run's deletions.
//
// [Repositories] resolves the repositories to judge (keys, globs or every local Docker repository), plans each one
// with [prune.Planner] through a source that applies the image filters, the keep property and
// --keep-pulled-within, checks the clocks, and, when [Options.Delete] is set, re-checks for pushes, applies the
// plan with a re-check before each batch of deletions, runs the final check that brings back from the Trash Can a
// folder a push made during the deletes needs again, marks the Trash Can's copies as artprune's, and purges the
// ones [Options.PurgeTrashAfter] allows. With [Options.Approved] it deletes only what an approved plan file holds,
// with [Options.Tags] it deletes tags and what only they kept. A dry run is a run without Delete: nothing is
// deleted. The [Result] holds every plan and outcome; [prune.WriteReportJSON] and [prune.WriteReportText] turn it
// into artprune's report with [Result.ReportOptions], and [Result.PlanFile] into a plan file for approval.
//
// [Restore] brings the folders (and tags) a run's report lists as deleted back from the Trash Can.
//
// The package prints nothing and never exits: it logs through [Options.Logger] (discarded when nil), shows progress
// through [Options.Progress], and returns its failures in the result, as the report shows them: a repository that
// fails does not stop the others. Every call takes a context first; cancelling it starts no new deletion, lets
// those in flight finish, and returns what was done.
//
// The caller builds the Artifactory client ([artifactory.Connect]) with its credentials, rate and page size;
// see the package's Example for an embedding against the in-process emulator.
package run
