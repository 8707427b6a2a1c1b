// Package aql is the Artifactory Query Language engine of the Artifactory
// emulator: it parses AQL text the way Artifactory's POST /api/search/aql
// endpoint receives it, evaluates the criteria over rows supplied by the
// emulator's storage, and streams the response body Artifactory sends.
//
// Only the items domain is supported:
//
//	items.find(<criteria>).include(...).sort({"$asc"|"$desc":[...]}).offset(n).limit(n)
//
// Parse validates the whole query once and compiles the criteria into a tree
// of typed nodes; Execute and Match evaluate that tree without allocating per
// row. The semantics follow Artifactory's own AQL-to-SQL translation
// (Artifactory OSS: ParserToAqlAdapter, AqlAdapter, Criteria):
//
//   - "$and" / "$or" join every criterion inside their array with that
//     operator, the keys of one object included; top-level keys are ANDed.
//   - Items are files only unless "type" is named somewhere ("type":"any" for both).
//   - A missing field value is SQL NULL: it satisfies $ne and $nmatch only.
//   - "@key" criteria hold when some value satisfies them; $ne / $nmatch on a
//     property hold when no value satisfies $eq / $match (NOT EXISTS).
//   - $match is SQL LIKE after "*"→"%" and "?"→"_": "_" and "%" are wildcards too.
//
// Where Artifactory's behaviour is not documented, the choice made here is
// documented on the function or type that implements it.
package aql

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// MaxQueryLength is the longest query text, in characters, that Parse accepts.
// Artifactory rejects longer queries with HTTP 400 (JFrog docs, "AQL performance").
const MaxQueryLength = 6000

// TrimmedNotification is the range.notification text Artifactory sends when a
// result was cut to the configured hard limit (artifactory.aql.search.query.max.limit),
// as quoted in jfrog/jfrog-cli-artifactory#198.
const TrimmedNotification = "AQL query reached the search hard limit, results are trimmed. Please address configurable limit."

// Row is one item (file or folder) the evaluator can see.
type Row interface {
	// Field returns the value of a primary-domain field of the item. Names:
	// "repo","path","name","type" ("file"|"folder"),"created_by","modified_by","sha256","actual_sha1","actual_md5",
	// "original_sha1","original_md5" (strings); "size","depth" (int64); "created","modified","updated" (time.Time).
	// ok is false when the item has no such field value (e.g. folders have no checksums).
	//
	// Field is called in the evaluation hot path: converting a string, an
	// int64 or a time.Time to an interface allocates, so a Row that cares
	// about speed either keeps its values boxed in advance or implements TypedRow.
	Field(name string) (v any, ok bool)
	// Properties returns the item's properties (key -> values); nil when none.
	Properties() map[string][]string
}

// TypedRow is an optional extension of Row that hands field values to the
// evaluator without boxing them into interfaces. When a Row implements it,
// the engine reads fields through these methods only, and never calls Field.
// The names and the meaning of ok are those of Row.Field.
type TypedRow interface {
	Row
	// StringField returns a string field ("repo", "path", "name", "type", ...).
	StringField(name string) (string, bool)
	// IntField returns an integer field ("size", "depth").
	IntField(name string) (int64, bool)
	// TimeField returns a time field ("created", "modified", "updated").
	TimeField(name string) (time.Time, bool)
}

// Error is a query error as Artifactory reports it: an HTTP status (400 for
// every parse and validation error) and the plain-text response body.
type Error struct {
	// Status is the HTTP status code to answer with.
	Status int
	// Message is the plain-text body Artifactory sends.
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// badRequest returns a 400 *Error with a formatted message.
func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Query is a parsed and validated AQL query in the items domain.
// A Query is immutable and safe for concurrent use.
type Query struct {
	text     string
	root     node      // compiled criteria, including the implicit "type":"file"
	rels     []relTime // the relative times of the criteria, indexed by relNode.idx
	include  include
	sort     []fieldID
	sortDesc bool
	offset   int
	limit    int
	hasLimit bool
	// usesStats: the criteria or the include section touch the stat domain (stats.go).
	usesStats bool
}

// Text returns the query text as given to Parse.
func (q *Query) Text() string { return q.text }

// Fields returns the names of the primary fields each result carries, in output order.
func (q *Query) Fields() []string {
	names := make([]string, len(q.include.fields))
	for i, f := range q.include.fields {
		names[i] = fieldTable[f].name
	}
	return names
}

// Properties reports which properties each result carries: all of them when
// all is true, otherwise the listed keys (none when keys is empty).
func (q *Query) Properties() (all bool, keys []string) {
	return q.include.allProps, append([]string(nil), q.include.propKeys...)
}

// PrimaryFieldsOnly reports whether the include section names primary-domain
// fields only (true when there is no include section), the condition under
// which Artifactory honours sort, offset and limit.
func (q *Query) PrimaryFieldsOnly() bool { return !q.include.hasProps() }

// Sort returns the sort fields (nil when the query has no sort) and whether the order is descending.
func (q *Query) Sort() (fields []string, desc bool) {
	for _, f := range q.sort {
		fields = append(fields, fieldTable[f].name)
	}
	return fields, q.sortDesc
}

// Offset returns the .offset(n) value, 0 when absent.
func (q *Query) Offset() int { return q.offset }

// Limit returns the .limit(n) value and whether the query has a limit.
func (q *Query) Limit() (n int, ok bool) { return q.limit, q.hasLimit }

// HasRepoEquals reports whether the criteria compare the field repo for equality anywhere ("repo":"x" or
// {"repo":{"$eq":"x"}}), in any branch. Artifactory adds "repo != auto-trashcan" to every items query without one
// (SpecialReposDecorator in Artifactory OSS), so only such queries can return the Trash Can's items.
func (q *Query) HasRepoEquals() bool { return hasRepoEquals(q.root) }

func hasRepoEquals(n node) bool {
	switch n := n.(type) {
	case andNode:
		return slices.ContainsFunc(n, hasRepoEquals)
	case orNode:
		return slices.ContainsFunc(n, hasRepoEquals)
	case *strNode:
		return n.f == fRepo && n.op == opEq
	}
	return false
}
