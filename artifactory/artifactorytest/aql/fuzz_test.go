package aql

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, fails only with *Error, and that
// an accepted query executes and serialises to valid JSON.
func FuzzParse(f *testing.F) {
	seeds := []string{
		``,
		`items.find()`,
		`items.find({"repo":"docker-local","path":{"$match":"img/*"},"name":"manifest.json"}).include("repo","path","name","created").sort({"$asc":["path","name"]}).offset(10).limit(5)`,
		`items.find({"type":"any","path":{"$ne":"."},"$or":[{"$and":[{"repo":"r","path":"a","name":{"$match":"*"}}]},{"$and":[{"repo":"r","path":{"$match":"a/*"},"name":{"$match":"*"}}]}]})`,
		`items.find({"$and":[{"@docker.manifest":{"$ne":"latest"}},{"@*":{"$match":"*"}}]}).include("name","property")`,
		`items.find({"created":{"$before":"3mo"},"modified":{"$last":"10minutes"},"size":{"$gte":1.5e3}})`,
		`items.find({"name":"\u00e9\ud83d\ude00\"\\"})`,
		`builds.find({"name":"x"})`,
		`items.find({"name":{"$match":"a?b*c_d%e\\f"}}).transitive()`,
		`items.find({"$or":[{"name":null}]}).limit(1).sort({"$asc":["name"]})`,
		strings.Repeat("[", 100),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	items := dockerRepo()
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
				t.Fatalf("Parse(%q) error %#v", text, err)
			}
			return
		}
		res := q.Execute(seq(items), now, 3)
		var b strings.Builder
		if err := q.WriteJSON(&b, res, time.UTC); err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(b.String())) {
			t.Fatalf("invalid JSON for %q: %s", text, b.String())
		}
	})
}
