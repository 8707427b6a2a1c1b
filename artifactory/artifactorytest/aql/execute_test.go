package aql

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"
)

func TestWriteJSONExact(t *testing.T) {
	items := dataset("r/a.txt", "r/d/b.bin", "r/d/", "s/c")
	items[0].props = map[string][]string{"b": {"3"}, "a": {"1", "2"}}
	plus4 := time.FixedZone("", 4*3600)
	tests := []struct {
		name, query string
		max         int
		loc         *time.Location
		want        string
	}{
		{"default fields", `items.find({"repo":"r"})`, 0, nil,
			`{"results":[` +
				`{"repo":"r","path":".","name":"a.txt","type":"file","size":100,"created":"2024-01-10T12:00:00.000Z","created_by":"admin","modified":"2024-01-10T12:01:00.000Z","modified_by":"deployer","updated":"2024-01-10T12:02:00.000Z"},` +
				`{"repo":"r","path":"d","name":"b.bin","type":"file","size":200,"created":"2024-01-10T13:00:00.000Z","created_by":"admin","modified":"2024-01-10T13:01:00.000Z","modified_by":"deployer","updated":"2024-01-10T13:02:00.000Z"}` +
				`],"range":{"start_pos":0,"end_pos":2,"total":2}}`},
		{"server zone", `items.find({"name":"a.txt"}).include("created")`, 0, plus4,
			`{"results":[{"created":"2024-01-10T16:00:00.000+04:00"}],"range":{"start_pos":0,"end_pos":1,"total":1}}`},
		{"include order", `items.find({"repo":"r"}).include("name","size","repo")`, 0, nil,
			`{"results":[{"name":"a.txt","size":100,"repo":"r"},{"name":"b.bin","size":200,"repo":"r"}],"range":{"start_pos":0,"end_pos":2,"total":2}}`},
		{"folders omit missing fields", `items.find({"type":"any","repo":"r"}).include("name","type","size","sha256","depth")`, 0, nil,
			`{"results":[` +
				`{"name":"a.txt","type":"file","size":100,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0","depth":1},` +
				`{"name":"b.bin","type":"file","size":200,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1","depth":2},` +
				`{"name":"d","type":"folder","depth":1}` +
				`],"range":{"start_pos":0,"end_pos":3,"total":3}}`},
		{"all properties", `items.find({"repo":"r"}).include("name","property")`, 0, nil,
			`{"results":[{"name":"a.txt","properties":[{"key":"a","value":"1"},{"key":"a","value":"2"},{"key":"b","value":"3"}]},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2}}`},
		{"one property", `items.find({"repo":"r"}).include("name","@b")`, 0, nil,
			`{"results":[{"name":"a.txt","properties":[{"key":"b","value":"3"}]},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2}}`},
		{"properties only keeps default fields", `items.find({"name":"a.txt"}).include("@a")`, 0, nil,
			`{"results":[{"repo":"r","path":".","name":"a.txt","type":"file","size":100,"created":"2024-01-10T12:00:00.000Z","created_by":"admin","modified":"2024-01-10T12:01:00.000Z","modified_by":"deployer","updated":"2024-01-10T12:02:00.000Z","properties":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}],"range":{"start_pos":0,"end_pos":1,"total":1}}`},
		{"star", `items.find({"name":"a.txt"}).include("*")`, 0, nil,
			`{"results":[{"repo":"r","path":".","name":"a.txt","type":"file","size":100,"depth":1,"created":"2024-01-10T12:00:00.000Z","created_by":"admin","modified":"2024-01-10T12:01:00.000Z","modified_by":"deployer","updated":"2024-01-10T12:02:00.000Z","actual_md5":"m5-a.txt","actual_sha1":"s1-a.txt","original_md5":"m5-a.txt","original_sha1":"s1-a.txt","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0"}],"range":{"start_pos":0,"end_pos":1,"total":1}}`},
		{"offset and limit", `items.find().include("name").sort({"$asc":["name"]}).offset(1).limit(2)`, 0, nil,
			`{"results":[{"name":"b.bin"},{"name":"c"}],"range":{"start_pos":1,"end_pos":2,"total":2,"limit":2}}`},
		{"short last page", `items.find().include("name").sort({"$asc":["name"]}).offset(2).limit(2)`, 0, nil,
			`{"results":[{"name":"c"}],"range":{"start_pos":2,"end_pos":1,"total":1,"limit":2}}`},
		{"offset past the end", `items.find().include("name").offset(5)`, 0, nil,
			`{"results":[],"range":{"start_pos":5,"end_pos":0,"total":0}}`},
		{"limit zero", `items.find().include("name").limit(0)`, 0, nil,
			`{"results":[],"range":{"start_pos":0,"end_pos":0,"total":0,"limit":0}}`},
		{"trimmed", `items.find().include("name")`, 2, nil,
			`{"results":[{"name":"a.txt"},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2,"notification":"AQL query reached the search hard limit, results are trimmed. Please address configurable limit."}}`},
		{"trimmed with limit above the cap", `items.find().include("name").limit(10)`, 2, nil,
			`{"results":[{"name":"a.txt"},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2,"limit":10,"notification":"AQL query reached the search hard limit, results are trimmed. Please address configurable limit."}}`},
		{"limit at the cap is not trimmed", `items.find().include("name").limit(2)`, 2, nil,
			`{"results":[{"name":"a.txt"},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2,"limit":2}}`},
		{"exactly the cap is not trimmed", `items.find().include("name")`, 3, nil,
			`{"results":[{"name":"a.txt"},{"name":"b.bin"},{"name":"c"}],"range":{"start_pos":0,"end_pos":3,"total":3}}`},
		{"cap applies after the offset", `items.find().include("name").offset(1)`, 2, nil,
			`{"results":[{"name":"b.bin"},{"name":"c"}],"range":{"start_pos":1,"end_pos":2,"total":2}}`},
		{"sorted and trimmed", `items.find().include("name").sort({"$desc":["name"]})`, 2, nil,
			`{"results":[{"name":"c"},{"name":"b.bin"}],"range":{"start_pos":0,"end_pos":2,"total":2,"notification":"AQL query reached the search hard limit, results are trimmed. Please address configurable limit."}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := body(t, tt.query, items, tt.max, tt.loc)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Error("invalid JSON")
			}
		})
	}
}

func TestSort(t *testing.T) {
	items := dataset("r/b/y", "r/a/z", "r/b/x", "r/a/y", "r/c/", "r/a/x")
	items[0].size, items[1].size, items[2].size, items[3].size, items[5].size = 1000, 20, 300, 20, 5
	items[2].created = items[0].created // a tie on created
	tests := []struct {
		name, query string
		want        []int
	}{
		{"asc name, ties keep order", `items.find().sort({"$asc":["name"]})`, []int{2, 5, 0, 3, 1}},
		{"desc name, ties keep order", `items.find().sort({"$desc":["name"]})`, []int{1, 0, 3, 2, 5}},
		{"asc path then name", `items.find().sort({"$asc":["path","name"]})`, []int{5, 3, 1, 2, 0}},
		{"desc path then name", `items.find().sort({"$desc":["path","name"]})`, []int{0, 2, 1, 3, 5}},
		{"numeric size", `items.find().sort({"$asc":["size"]})`, []int{5, 1, 3, 2, 0}},
		{"desc created with tie", `items.find().sort({"$desc":["created"]})`, []int{5, 3, 1, 0, 2}},
		{"asc created with tie", `items.find().sort({"$asc":["created"]})`, []int{0, 2, 1, 3, 5}},
		{"repo then path with offset", `items.find().sort({"$asc":["repo","path"]}).offset(2).limit(2)`, []int{5, 0}},
		{"folders sort by name too", `items.find({"type":"any"}).sort({"$asc":["name"]})`, []int{4, 2, 5, 0, 3, 1}},
		{"missing size sorts last", `items.find({"type":"any"}).sort({"$asc":["size"]})`, []int{5, 1, 3, 2, 0, 4}},
		{"missing size sorts first descending", `items.find({"type":"any"}).sort({"$desc":["size"]})`, []int{4, 0, 2, 1, 3, 5}},
		{"sort on included field", `items.find().include("sha256","name").sort({"$desc":["sha256"]})`, []int{5, 3, 2, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equalKeys(t, run(t, tt.query, items), pick(items, tt.want...))
		})
	}
}

func TestExecuteStopsEarly(t *testing.T) {
	items := dataset("r/a", "r/b", "r/c", "r/d", "r/e")
	counting := func(n *int) iter.Seq[Row] {
		return func(yield func(Row) bool) {
			for _, it := range items {
				*n++
				if !yield(it) {
					return
				}
			}
		}
	}
	tests := []struct {
		query string
		max   int
		seen  int
	}{
		{`items.find().limit(2)`, 0, 2},
		{`items.find().offset(1).limit(2)`, 0, 3},
		{`items.find()`, 2, 3}, // one more than the cap, to know it is trimmed
		{`items.find().sort({"$asc":["name"]}).limit(1)`, 0, 5},
	}
	for _, tt := range tests {
		n := 0
		mustParse(t, tt.query).Execute(counting(&n), now, tt.max)
		if n != tt.seen {
			t.Errorf("%s (max %d): iterated %d rows, want %d", tt.query, tt.max, n, tt.seen)
		}
	}
}

func TestExecuteTrimFlag(t *testing.T) {
	items := dataset("r/a", "r/b", "r/c")
	q := mustParse(t, `items.find()`)
	if res := q.Execute(seq(items), now, 2); !res.Trimmed || len(res.Rows) != 2 {
		t.Errorf("max 2: trimmed %v, %d rows", res.Trimmed, len(res.Rows))
	}
	if res := q.Execute(seq(items), now, 0); res.Trimmed || len(res.Rows) != 3 {
		t.Errorf("no max: trimmed %v, %d rows", res.Trimmed, len(res.Rows))
	}
}

func TestWriteJSONEscaping(t *testing.T) {
	names := []string{"q\"uote", `back\slash`, "new\nline\ttab\rcr", "ctl\x01\x1f", "bad\xffutf8", "é😀", "<&>", "\u2028"}
	var items []*item
	for i, n := range names {
		it := mk(i, "r/x", map[string][]string{"k\"ey": {n}})
		it.name = n
		items = append(items, it)
	}
	out := body(t, `items.find().include("name","property")`, items, 0, nil)
	var decoded struct {
		Results []struct {
			Name       string `json:"name"`
			Properties []struct{ Key, Value string }
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &decoded); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	for i, n := range names {
		want := strings.ToValidUTF8(n, "\ufffd")
		r := decoded.Results[i]
		if r.Name != want || r.Properties[0].Value != want || r.Properties[0].Key != "k\"ey" {
			t.Errorf("round trip of %q: %q %+v", n, r.Name, r.Properties)
		}
	}
}

// failWriter fails after n writes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("broken pipe")
	}
	w.n--
	return len(p), nil
}

func TestWriteJSONStreamsAndReportsErrors(t *testing.T) {
	var items []*item
	for i := range 5000 {
		items = append(items, mk(i, fmt.Sprintf("r/dir/file-%05d", i), nil))
	}
	q := mustParse(t, `items.find()`)
	res := q.Execute(seq(items), now, 0)
	var sb strings.Builder
	if err := q.WriteJSON(&sb, res, time.UTC); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Results []map[string]any `json:"results"`
		Range   map[string]int   `json:"range"`
	}
	if err := json.Unmarshal([]byte(sb.String()), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Results) != 5000 || decoded.Range["total"] != 5000 {
		t.Errorf("%d results, range %v", len(decoded.Results), decoded.Range)
	}
	for _, n := range []int{0, 1, 3} {
		if err := q.WriteJSON(&failWriter{n: n}, res, time.UTC); err == nil {
			t.Errorf("writer failing after %d writes: no error", n)
		}
	}
}

func TestMatchAndExecuteAgree(t *testing.T) {
	items := dockerRepo()
	q := mustParse(t, `items.find({"type":"any","$or":[{"name":{"$match":"*.json"}},{"@keep":"true"},{"depth":1}]})`)
	var want []string
	for _, it := range items {
		if q.Match(it, now) {
			want = append(want, keyOfItem(it))
		}
	}
	equalKeys(t, keys(q.Execute(seq(items), now, 0).Rows), want)
	if len(want) == 0 {
		t.Fatal("nothing matched")
	}
}

// typedItem exposes an item through TypedRow only: Field must not be called.
type typedItem struct{ it *item }

func (r typedItem) Field(string) (any, bool) { panic("Field called on a TypedRow") }

func (r typedItem) Properties() map[string][]string { return r.it.props }

func (r typedItem) StringField(name string) (string, bool) {
	v, ok := r.it.Field(name)
	s, isString := v.(string)
	return s, ok && isString
}

func (r typedItem) IntField(name string) (int64, bool) {
	v, ok := r.it.Field(name)
	n, isInt := v.(int64)
	return n, ok && isInt
}

func (r typedItem) TimeField(name string) (time.Time, bool) {
	v, ok := r.it.Field(name)
	t, isTime := v.(time.Time)
	return t, ok && isTime
}

func TestTypedRowGivesTheSameResponses(t *testing.T) {
	items := dockerRepo()
	typed := func(yield func(Row) bool) {
		for _, it := range items {
			if !yield(typedItem{it}) {
				return
			}
		}
	}
	queries := []string{
		`items.find()`,
		`items.find({"type":"any"}).include("*","property")`,
		`items.find({"type":"any","$or":[{"size":{"$gt":500}},{"created":{"$before":"1d"}},{"sha256":null}]}).include("name","size","depth","sha256","updated")`,
		`items.find({"path":{"$match":"img*"},"actual_md5":{"$ne":"x"}}).sort({"$desc":["size","name"]}).offset(1).limit(4)`,
		`items.find({"@docker.manifest":{"$match":"*"}}).include("name","@docker.manifest")`,
	}
	for _, text := range queries {
		q := mustParse(t, text)
		var plainBody, typedBody strings.Builder
		if err := q.WriteJSON(&plainBody, q.Execute(seq(items), now, 0), time.UTC); err != nil {
			t.Fatal(err)
		}
		if err := q.WriteJSON(&typedBody, q.Execute(typed, now, 0), time.UTC); err != nil {
			t.Fatal(err)
		}
		if plainBody.String() != typedBody.String() {
			t.Errorf("%s:\nRow:      %s\nTypedRow: %s", text, plainBody.String(), typedBody.String())
		}
		if strings.Count(plainBody.String(), `"name"`) < 2 {
			t.Errorf("%s: too few results to compare: %s", text, plainBody.String())
		}
	}
}

func TestQueryIsSafeForConcurrentUse(t *testing.T) {
	items := dockerRepo()
	q := mustParse(t, `items.find({"type":"any","$or":[{"@docker.manifest":{"$match":"*"}},{"created":{"$last":"1y"}}]}).include("name","size","created")`)
	want := body(t, q.Text(), items, 0, nil)
	done := make(chan string)
	for range 8 {
		go func() {
			var b strings.Builder
			_ = q.WriteJSON(&b, q.Execute(seq(items), now, 0), time.UTC)
			done <- b.String()
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent body differs:\n%s\n%s", got, want)
		}
	}
}
