package prune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// WriteReportText writes the report of a run as [Report.WriteText] writes NewReport(dryRun, plans, results), without
// building it: the lines of a million deletions are written as they are made. It returns the report's totals.
func WriteReportText(w io.Writer, dryRun bool, plans []*RepoPlan, results []*ApplyResult, opts ...ReportOption) (Summary, error) {
	r, reporters := newReportHead(dryRun, plans, results, opts...)
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := &textWriter{w: bw}
	tw.report(r, func(i int) repoLists {
		return repoLists{deletions: reporters[i].eachDeletion, images: reporters[i].eachImage}
	})
	if tw.err != nil {
		return r.Totals, tw.err
	}
	return r.Totals, bw.Flush()
}

// WriteReportJSON writes the report of a run as indented JSON, byte for byte what json.MarshalIndent(NewReport(dryRun,
// plans, results), "", "  ") and a newline are (or json.Encoder with SetIndent("", "  ")), without building it:
// each image, deletion and kept folder is encoded and written on its own. It returns the report's totals.
func WriteReportJSON(w io.Writer, dryRun bool, plans []*RepoPlan, results []*ApplyResult, opts ...ReportOption) (Summary, error) {
	r, reporters := newReportHead(dryRun, plans, results, opts...)
	bw := bufio.NewWriterSize(w, 64<<10)
	err := writeReportJSON(bw, r, reporters)
	if err == nil {
		err = bw.Flush()
	}
	return r.Totals, err
}

// The long lists are spliced into the JSON of the report's head, where they are empty. The markers are keys
// followed by an empty array: a string value holding them would have its quotes escaped, and each key appears once
// in its object.
const (
	reportIndent    = "  "
	markRepos       = `"repositories": []`
	markImages      = `"images": []`
	markDeletions   = `"deletions": []`
	markKept        = `"kept": []`
	repoLevel       = 2 // the depth of a repository object: report { repositories [ {
	repoFieldsLevel = 3
)

func writeReportJSON(w io.Writer, r *Report, reporters []*repoReporter) error {
	repos := r.Repositories
	r.Repositories = []RepoReport{}
	head, err := json.MarshalIndent(r, "", reportIndent)
	r.Repositories = repos
	if err != nil {
		return err
	}
	before, after, ok := bytes.Cut(head, []byte(markRepos))
	if !ok {
		return fmt.Errorf("report JSON: no %s", markRepos)
	}
	if _, err := w.Write(before); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `"repositories": [`); err != nil {
		return err
	}
	for i, rep := range reporters {
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if err := newline(w, repoLevel); err != nil {
			return err
		}
		if err := writeRepoJSON(w, rep); err != nil {
			return err
		}
	}
	if len(reporters) > 0 {
		if err := newline(w, repoLevel-1); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]"); err != nil {
		return err
	}
	if _, err := w.Write(after); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// writeRepoJSON writes one repository object at depth repoLevel, its first line unindented.
func writeRepoJSON(w io.Writer, rep *repoReporter) error {
	prefix := indentOf(repoLevel)
	head, err := json.MarshalIndent(rep.head, prefix, reportIndent)
	if err != nil {
		return err
	}
	rest := head
	for _, part := range []struct {
		mark  string
		write func(func(any) error) error
	}{
		{markImages, func(emit func(any) error) error {
			return rep.eachImage(func(v ImageReport) error { return emit(v) })
		}},
		{markDeletions, func(emit func(any) error) error {
			return rep.eachDeletion(func(v DeletionReport) error { return emit(v) })
		}},
		{markKept, func(emit func(any) error) error {
			return rep.eachKept(func(v KeptReport) error { return emit(v) })
		}},
	} {
		before, after, ok := bytes.Cut(rest, []byte(part.mark))
		if !ok {
			return fmt.Errorf("report JSON: no %s", part.mark)
		}
		if _, err := w.Write(before); err != nil {
			return err
		}
		key, _, _ := bytes.Cut([]byte(part.mark), []byte(" "))
		if _, err := fmt.Fprintf(w, "%s [", key); err != nil {
			return err
		}
		n := 0
		elemPrefix := indentOf(repoFieldsLevel + 1)
		err := part.write(func(v any) error {
			b, err := json.MarshalIndent(v, elemPrefix, reportIndent)
			if err != nil {
				return err
			}
			if n > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			n++
			if err := newline(w, repoFieldsLevel+1); err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		if n > 0 {
			if err := newline(w, repoFieldsLevel); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "]"); err != nil {
			return err
		}
		rest = after
	}
	_, err = w.Write(rest)
	return err
}

func indentOf(level int) string {
	b := make([]byte, 0, len(reportIndent)*level)
	for range level {
		b = append(b, reportIndent...)
	}
	return string(b)
}

func newline(w io.Writer, level int) error {
	_, err := io.WriteString(w, "\n"+indentOf(level))
	return err
}
