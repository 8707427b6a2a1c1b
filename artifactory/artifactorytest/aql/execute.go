package aql

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"time"
)

// Result is the outcome of Execute: the rows of one response.
type Result struct {
	// Rows are the results, in response order.
	Rows []Row
	// Trimmed reports that the results were cut to the maxResults hard limit;
	// the response then carries range.notification.
	Trimmed bool
}

// Match reports whether row satisfies the criteria (including the implicit
// "type":"file"), evaluating relative times ($before/$last) against now.
func (q *Query) Match(row Row, now time.Time) bool {
	c := newEvalCtx(now, q.rels)
	c.reset(row)
	return q.root.eval(c)
}

// Execute filters, sorts, offsets, limits and trims. rows is iterated once;
// its order is the "database order" used when there is no sort and to break
// sort ties. maxResults > 0 is the hard limit on the number of results the
// query returns after offset and limit: a result longer than that is cut to
// maxResults and marked Trimmed. Without a sort, iteration stops as soon as
// the page is known.
func (q *Query) Execute(rows iter.Seq[Row], now time.Time, maxResults int) Result {
	c := newEvalCtx(now, q.rels)
	want := q.pageSize(maxResults)
	var out []Row
	if q.sort == nil {
		out = q.collect(rows, c, want)
	} else {
		out = q.collectSorted(rows, c, want)
	}
	if maxResults > 0 && len(out) > maxResults {
		return Result{Rows: out[:maxResults:maxResults], Trimmed: true}
	}
	return Result{Rows: out}
}

// pageSize is the number of rows after the offset worth keeping: the limit,
// or one more than the hard limit (to detect trimming); -1 for all.
func (q *Query) pageSize(maxResults int) int {
	want := -1
	if q.hasLimit {
		want = q.limit
	}
	if maxResults > 0 && (want < 0 || want > maxResults) {
		want = maxResults + 1
	}
	return want
}

// collect returns the matching rows in iterator order, after the offset, at
// most want of them (all when want < 0).
func (q *Query) collect(rows iter.Seq[Row], c *evalCtx, want int) []Row {
	var out []Row
	if want == 0 {
		return out
	}
	skip := q.offset
	for r := range rows {
		c.reset(r)
		if !q.root.eval(c) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, r)
		if len(out) == want {
			break
		}
	}
	return out
}

// sortKey is the value of one sort field of one row.
type sortKey struct {
	ok bool // false for a missing value, which sorts after every value
	s  string
	n  int64 // integer, or milliseconds since the epoch for times
}

// collectSorted returns the matching rows sorted, after the offset, at most
// want of them. Keys are read once per row; ties keep iterator order.
func (q *Query) collectSorted(rows iter.Seq[Row], c *evalCtx, want int) []Row {
	if want >= 0 {
		return q.collectTop(rows, c, q.offset+want)
	}
	var matched []Row
	var keys []sortKey
	for r := range rows {
		c.reset(r)
		if !q.root.eval(c) {
			continue
		}
		matched = append(matched, r)
		for _, f := range q.sort {
			keys = append(keys, keyOf(c.get(f), fieldTable[f].kind))
		}
	}
	order := make([]int, len(matched))
	for i := range order {
		order[i] = i
	}
	k := len(q.sort)
	slices.SortFunc(order, func(a, b int) int {
		for j, f := range q.sort {
			if d := compareKeys(&keys[a*k+j], &keys[b*k+j], fieldTable[f].kind, q.sortDesc); d != 0 {
				return d
			}
		}
		return cmp.Compare(a, b)
	})
	start := min(q.offset, len(order))
	end := len(order)
	if want >= 0 {
		end = min(end, start+want)
	}
	out := make([]Row, 0, end-start)
	for _, i := range order[start:end] {
		out = append(out, matched[i])
	}
	return out
}

// candidate is a row kept by collectTop, with its sort keys and its position in iterator order.
type candidate struct {
	row  Row
	keys []sortKey
	seq  int
}

// before reports whether a sorts before b: by the sort fields, then by iterator order.
func (q *Query) before(a, b *candidate) bool {
	for j, f := range q.sort {
		if d := compareKeys(&a.keys[j], &b.keys[j], fieldTable[f].kind, q.sortDesc); d != 0 {
			return d < 0
		}
	}
	return a.seq < b.seq
}

// collectTop returns the first n matching rows in sort order, then drops the offset. It keeps a bounded max-heap
// of the n best rows seen, so a page of a large sorted result costs O(rows log n) time and O(n) memory instead of
// sorting every match: paging through millions of items stays fast.
func (q *Query) collectTop(rows iter.Seq[Row], c *evalCtx, n int) []Row {
	if n <= 0 {
		return nil
	}
	heap := make([]*candidate, 0, min(n, 1<<16))
	scratch := &candidate{keys: make([]sortKey, len(q.sort))}
	seq := 0
	for r := range rows {
		c.reset(r)
		if !q.root.eval(c) {
			continue
		}
		for j, f := range q.sort {
			scratch.keys[j] = keyOf(c.get(f), fieldTable[f].kind)
		}
		scratch.row, scratch.seq = r, seq
		seq++
		switch {
		case len(heap) < n:
			heap = append(heap, scratch)
			q.siftUp(heap, len(heap)-1)
		case q.before(scratch, heap[0]):
			spare := heap[0]
			heap[0] = scratch
			q.siftDown(heap, 0)
			scratch = spare
			continue
		default:
			continue
		}
		scratch = &candidate{keys: make([]sortKey, len(q.sort))}
	}
	slices.SortFunc(heap, func(a, b *candidate) int {
		if q.before(a, b) {
			return -1
		}
		return 1
	})
	start := min(q.offset, len(heap))
	out := make([]Row, 0, len(heap)-start)
	for _, cd := range heap[start:] {
		out = append(out, cd.row)
	}
	return out
}

// siftUp and siftDown maintain heap as a max-heap: the row that sorts last is on top.
func (q *Query) siftUp(heap []*candidate, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.before(heap[parent], heap[i]) {
			return
		}
		heap[parent], heap[i] = heap[i], heap[parent]
		i = parent
	}
}

func (q *Query) siftDown(heap []*candidate, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(heap) && q.before(heap[worst], heap[l]) {
			worst = l
		}
		if r < len(heap) && q.before(heap[worst], heap[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		heap[i], heap[worst] = heap[worst], heap[i]
		i = worst
	}
}

// keyOf extracts the sort key of a field value.
func keyOf(v *fieldVal, k kind) sortKey {
	if !v.ok {
		return sortKey{}
	}
	switch k {
	case kindString:
		return sortKey{ok: true, s: v.s}
	case kindInt:
		return sortKey{ok: true, n: v.n}
	}
	return sortKey{ok: true, n: truncMillis(v.t)}
}

// compareKeys orders two keys: strings bytewise, numbers and times
// numerically; a missing value is greater than any value (as NULLs sort last
// in ascending order on PostgreSQL), so it comes first in descending order.
func compareKeys(a, b *sortKey, k kind, desc bool) int {
	var d int
	switch {
	case !a.ok || !b.ok:
		d = cmp.Compare(boolInt(!a.ok), boolInt(!b.ok))
	case k == kindString:
		d = strings.Compare(a.s, b.s)
	default:
		d = cmp.Compare(a.n, b.n)
	}
	if desc {
		return -d
	}
	return d
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
