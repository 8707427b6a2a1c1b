package aql

import (
	"slices"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []string // nil: no restriction
	}{
		{`items.find({"repo":"r"})`, nil},
		{`items.find({"name":"manifest.json"})`, []string{"manifest.json"}},
		{`items.find({"name":{"$eq":"a"}})`, []string{"a"}},
		{`items.find({"name":{"$match":"a*"}})`, nil},
		{`items.find({"name":{"$ne":"a"}})`, nil},
		{`items.find({"repo":"r","type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]})`,
			[]string{"list.manifest.json", "manifest.json"}},
		{`items.find({"$or":[{"name":"a"},{"path":"p"}]})`, nil},
		{`items.find({"$and":[{"name":"a"},{"$or":[{"name":"a"},{"name":"b"}]}]})`, []string{"a"}},
		{`items.find({"$and":[{"name":"a"},{"name":"b"}]})`, []string{}},
		{`items.find({"$and":[{"$or":[{"name":"a"},{"name":"b"}]},{"$or":[{"path":{"$gt":"x"}},{"$and":[{"path":"x"},{"name":{"$gt":"y"}}]}]}]})`,
			[]string{"a", "b"}},
	} {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		got, ok := q.Names()
		if (tc.want == nil) != !ok || (ok && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: Names() = %q, %v; want %q", tc.query, got, ok, tc.want)
		}
	}
}

// TestNamesSound checks on random rows that no row outside Names() matches.
func TestNamesSound(t *testing.T) {
	queries := []string{
		`items.find({"$or":[{"name":"a"},{"name":"b"}],"path":{"$gt":"m"}})`,
		`items.find({"$and":[{"name":"a"},{"$or":[{"name":"a"},{"name":"b"}]}]})`,
		`items.find({"type":"any","name":"c"})`,
	}
	now := time.Now()
	for _, text := range queries {
		q, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		names, ok := q.Names()
		if !ok {
			t.Fatalf("%s: no restriction", text)
		}
		for _, name := range []string{"a", "b", "c", "d", ""} {
			for _, path := range []string{"a", "z"} {
				for _, typ := range []string{"file", "folder"} {
					r := &plainRow{repo: "r", path: path, name: name, typ: typ}
					if q.Match(r, now) && !slices.Contains(names, name) {
						t.Errorf("%s: %+v matches, but Names() = %q", text, r, names)
					}
				}
			}
		}
	}
}
