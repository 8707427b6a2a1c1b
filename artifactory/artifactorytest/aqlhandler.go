package artifactorytest

import (
	"errors"
	"io"
	"iter"
	"net/http"
	"slices"

	"github.com/artprune/artprune/artifactory/artifactorytest/aql"
)

// maxAQLBody bounds the body read; queries over aql's 6,000-character limit are refused by the parser with a 400.
const maxAQLBody = 1 << 20

func (e *Emulator) serveAQL(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodPost {
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAQLBody))
	if err != nil {
		writeText(w, http.StatusBadRequest, "Failed to read the query: "+err.Error())
		return
	}
	q, err := aql.Parse(string(body))
	if err != nil {
		var aerr *aql.Error
		if errors.As(err, &aerr) {
			writeText(w, aerr.Status, aerr.Message)
			return
		}
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	if e.cfg.edition.isOSS() { // see msgSortOSS for the source
		if fields, _ := q.Sort(); len(fields) > 0 {
			writeText(w, http.StatusBadRequest, msgSortOSS)
			return
		}
		if all, keys := q.Properties(); !all && len(keys) > 0 {
			writeText(w, http.StatusBadRequest, msgPropFilterOSS)
			return
		}
	}
	if !u.isAdmin() && !includesAll(q.Fields(), "repo", "path", "name") {
		writeText(w, http.StatusBadRequest, "For permissions reasons AQL demands the following fields: repo, path and name.")
		return
	}
	now := e.clock.Now()
	var res aql.Result
	scan := e.store.Scan
	if names, ok := q.Names(); ok { // only items of these names can match: skip the others
		scan = func(fn func(iter.Seq[*Item])) { e.store.ScanNames(names, fn) }
	}
	// Artifactory leaves the Trash Can out of every query without a "repo" equality (SpecialReposDecorator), and
	// only admins may read it.
	withTrash := q.HasRepoEquals() && u.isAdmin()
	scan(func(items iter.Seq[*Item]) {
		rows := itemRows(items, withTrash)
		if q.UsesStats() { // the scan holds the store's lock: read each item's statistics as of now
			rows = e.statsRows(items, withTrash)
		}
		res = q.Execute(rows, now, e.cfg.aqlMaxResults)
	})
	if n := e.cfg.aqlSilentCap; n > 0 && len(res.Rows) > n { // an assumption: see WithAQLSilentCap
		res.Rows = res.Rows[:n]
	}
	if !u.isAdmin() && (len(u.Repos) > 0 || len(u.Exclude) > 0) {
		// Artifactory filters by permission after applying the offset and the limit: a page can come back short.
		kept := res.Rows[:0]
		for _, row := range res.Rows {
			it := itemOf(row)
			if u.seesRepo(it.Repo) && !u.hides(it.Repo, it.FullPath()) {
				kept = append(kept, row)
			}
		}
		res.Rows = kept
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = q.WriteJSON(w, res, e.clock.Location())
}

// statsRows yields the items with their download statistics; it runs inside Scan, under the store's lock.
func (e *Emulator) statsRows(items iter.Seq[*Item], withTrash bool) iter.Seq[aql.Row] {
	return func(yield func(aql.Row) bool) {
		for it := range items {
			if !withTrash && it.Repo == TrashRepo {
				continue
			}
			if !yield(statsItem{Item: it, stats: e.store.statsLocked(it)}) {
				return
			}
		}
	}
}

func itemRows(items iter.Seq[*Item], withTrash bool) iter.Seq[aql.Row] {
	return func(yield func(aql.Row) bool) {
		for it := range items {
			if !withTrash && it.Repo == TrashRepo {
				continue
			}
			if !yield(it) {
				return
			}
		}
	}
}

func includesAll(fields []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(fields, w) {
			return false
		}
	}
	return true
}

// Items are AQL rows; implementing aql.TypedRow spares a scan of millions of items one allocation per field read.
var _ aql.TypedRow = (*Item)(nil)
