package aql

import (
	"fmt"
	"io"
	"iter"
	"sync"
	"testing"
	"time"
)

// benchRow is a cheap Row whose values are boxed once.
type benchRow struct {
	repo, path, name, typ any
	size                  any
	created               any
}

func (r *benchRow) Field(name string) (any, bool) {
	var v any
	switch name {
	case "repo":
		v = r.repo
	case "path":
		v = r.path
	case "name":
		v = r.name
	case "type":
		v = r.typ
	case "size":
		v = r.size
	case "created":
		v = r.created
	}
	return v, v != nil
}

func (r *benchRow) Properties() map[string][]string { return nil }

// plainRow is a naive Row that boxes its strings on every Field call.
type plainRow struct {
	repo, path, name, typ string
}

func (r *plainRow) Field(name string) (any, bool) {
	switch name {
	case "repo":
		return r.repo, true
	case "path":
		return r.path, true
	case "name":
		return r.name, true
	case "type":
		return r.typ, true
	}
	return nil, false
}

func (r *plainRow) Properties() map[string][]string { return nil }

// typedRow is a Row implementing TypedRow: nothing is boxed.
type typedRow struct {
	repo, path, name, typ string
	size                  int64
	created               time.Time
}

func (r *typedRow) Field(name string) (any, bool) { panic("Field called on a TypedRow") }

func (r *typedRow) Properties() map[string][]string { return nil }

func (r *typedRow) StringField(name string) (string, bool) {
	switch name {
	case "repo":
		return r.repo, true
	case "path":
		return r.path, true
	case "name":
		return r.name, true
	case "type":
		return r.typ, true
	}
	return "", false
}

func (r *typedRow) IntField(name string) (int64, bool) { return r.size, name == "size" }

func (r *typedRow) TimeField(name string) (time.Time, bool) { return r.created, name == "created" }

const benchRows = 5_000_000

// benchItems builds a Docker repository of benchRows items, 100,000 image
// folders of 50 items each (a manifest, blobs and two folders), as Rows made
// by mk from (repo, path, name, type, size, created).
func benchItems(mk func(repo, path, name, typ string, size int64) Row) []Row {
	rows := make([]Row, benchRows)
	var path string
	for i := range benchRows {
		if i%50 == 0 {
			path = fmt.Sprintf("img%d/sha256:%064x", i/5000, i)
		}
		name, typ := fmt.Sprintf("sha256__%08x", i), "file"
		switch i % 50 {
		case 0:
			name = "manifest.json"
		case 1, 2:
			typ = "folder"
		}
		rows[i] = mk("docker-local", path, name, typ, int64(i))
	}
	return rows
}

// The same items as three Row implementations, built on first use.
var (
	preboxedRows = sync.OnceValue(func() []Row {
		created := any(t0)
		var lastPath string
		var boxedPath any
		return benchItems(func(repo, path, name, typ string, size int64) Row {
			if path != lastPath {
				lastPath, boxedPath = path, path
			}
			return &benchRow{repo: repo, path: boxedPath, name: name, typ: typ, size: size, created: created}
		})
	})
	typedRows = sync.OnceValue(func() []Row {
		return benchItems(func(repo, path, name, typ string, size int64) Row {
			return &typedRow{repo: repo, path: path, name: name, typ: typ, size: size, created: t0}
		})
	})
	boxingRows = sync.OnceValue(func() []Row {
		return benchItems(func(repo, path, name, typ string, _ int64) Row {
			return &plainRow{repo: repo, path: path, name: name, typ: typ}
		})
	})
)

func sliceSeq(rows []Row) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}

// benchQueries are a pruner-style query and a jfrog-client-go style query;
// each matches 100,000 manifests of the 5,000,000 items.
var benchQueries = map[string]string{
	"pruner": `items.find({"repo":"docker-local","path":{"$match":"img*/sha256:*"},"name":"manifest.json"}).include("repo","path","name","created")`,
	"jfrog":  `items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"img*"},"name":{"$match":"*.json"}}]}]}).include("name","repo","path","size","type","created")`,
}

// BenchmarkExecute5M filters 5,000,000 rows (one op = one full scan).
func BenchmarkExecute5M(b *testing.B) {
	for _, set := range []struct {
		name string
		rows func() []Row
	}{{"typed", typedRows}, {"preboxed", preboxedRows}, {"boxing", boxingRows}} {
		for qname, text := range benchQueries {
			b.Run(set.name+"/"+qname, func(b *testing.B) {
				rows := set.rows()
				q := mustParse(b, text)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					res := q.Execute(sliceSeq(rows), now, 0)
					if len(res.Rows) != benchRows/50 {
						b.Fatalf("%d results", len(res.Rows))
					}
				}
			})
		}
	}
}

// BenchmarkSortAndWrite5M sorts and serialises the 100,000 manifests.
func BenchmarkSortAndWrite5M(b *testing.B) {
	rows := typedRows()
	q := mustParse(b, `items.find({"name":"manifest.json"}).include("repo","path","name","created").sort({"$desc":["path","name"]})`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := q.Execute(sliceSeq(rows), now, 0)
		if err := q.WriteJSON(io.Discard, res, time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	text := benchQueries["jfrog"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
