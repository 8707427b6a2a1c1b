package aql

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, query string
	}{
		{"empty find", `items.find()`},
		{"empty object", `items.find({})`},
		{"whitespace everywhere", " items . find ( {\n\t\"name\" :\r\n \"x\" } ) . include ( \"name\" , \"repo\" ) . sort ( { \"$asc\" : [ \"name\" ] } ) . offset ( 1 ) . limit ( 2 ) \n"},
		{"all chain elements", `items.find({"repo":"r"}).include("repo","path","name").sort({"$desc":["name"]}).offset(0).limit(0)`},
		{"transitive before limit", `items.find().offset(2).transitive().limit(1)`},
		{"repeated keys", `items.find({"$or":[{"name":"a"}],"$or":[{"name":"b"}],"name":"c"})`},
		{"number values", `items.find({"size":{"$gt":10},"depth":2,"name":5})`},
		{"float size", `items.find({"size":{"$gte":1.0e3}})`},
		{"null values", `items.find({"sha256":null,"actual_md5":{"$ne":null}})`},
		{"json escapes", `items.find({"name":"a\"b\\c\/d\u00e9\ud83d\ude00\n"})`},
		{"nested junctions", `items.find({"$and":[{"$or":[{"name":"a"},{"$and":[{"repo":"r"},{"path":"p"}]}]}]})`},
		{"several operators", `items.find({"name":{"$match":"a*","$nmatch":"ab*"}})`},
		{"all time forms", `items.find({"created":{"$gt":"2021-01-02"},"modified":{"$lt":"2021-01-02T03:04:05Z"},"updated":{"$gte":"2021-01-02T03:04:05.678+04:00"}})`},
		{"time as epoch millis", `items.find({"created":{"$gt":1609459200000}})`},
		{"property forms", `items.find({"@a":"1","@b":{"$ne":"2"},"@c":{"$match":"x*"},"@*":"v","@d":{"$eq":"*"},"@e":null})`},
		{"include star and properties", `items.find().include("*","property.*","@k")`},
		{"include only properties", `items.find().include("@docker.manifest")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.query); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestParseSyntaxErrorExact(t *testing.T) {
	// The Artifactory message for a chain out of order (captured from a live server).
	const q = `items.find({"repo":"generic-local"}).limit(1).sort({"$asc":["name"]})`
	_, err := Parse(q)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	const want = `Failed to parse query: items.find({"repo":"generic-local"}).limit(1).sort({"$asc":["name"]}), it looks like there is syntax error near the following sub-query: sort({"$asc":["name"]})`
	if e.Message != want || e.Status != 400 || e.Error() != want {
		t.Errorf("got %d %q\nwant 400 %q", e.Status, e.Message, want)
	}
}

func TestParseErrors(t *testing.T) {
	const syntax = "it looks like there is syntax error near the following sub-query: "
	tests := []struct {
		name, query string
		want        []string
	}{
		{"empty", ``, []string{"Failed to parse query: , " + syntax}},
		{"missing paren", `items.find({"name":"a"}`, []string{syntax}},
		{"missing open paren", `items.find{"name":"a"})`, []string{syntax + `{"name":"a"})`}},
		{"bad json: missing colon", `items.find({"name" "a"})`, []string{syntax + `a"})`}},
		{"bad json: trailing comma", `items.find({"name":"a",})`, []string{syntax + `})`}},
		{"bad json: unquoted key", `items.find({name:"a"})`, []string{syntax + `name:"a"})`}},
		{"bad json: unterminated string", `items.find({"name":"a})`, []string{syntax + `"a})`}},
		{"bad json: bad escape", `items.find({"name":"a\x"})`, []string{syntax}},
		{"bad json: array value", `items.find({"name":["a"]})`, []string{syntax + `["a"]})`}},
		{"bad json: bool value", `items.find({"name":true})`, []string{syntax + `true})`}},
		{"trailing garbage", `items.find({"name":"a"}) xyz`, []string{syntax + `xyz`}},
		{"trailing garbage after chain", `items.find().limit(1);`, []string{syntax + `;`}},
		{"unknown operator", `items.find({"name":{"$like":"a"}})`, []string{syntax + `$like":"a"}})`}},
		{"empty operator object", `items.find({"name":{}})`, []string{syntax + `}})`}},
		{"unknown criteria operator", `items.find({"$not":[{"name":"a"}]})`, []string{syntax + `$not"`}},
		{"unsupported $msp", `items.find({"$msp":[{"@a":"1"}]})`, []string{"$msp", "not supported"}},
		{"junction with object", `items.find({"$or":{"name":"a"}})`, []string{syntax + `{"name":"a"}})`}},
		{"junction empty", `items.find({"$or":[]})`, []string{syntax + `]})`}},
		{"unknown field", `items.find({"nmae":"a"})`, []string{syntax + `nmae":"a"})`}},
		{"nested field", `items.find({"artifact.module.build.name":"b"})`, []string{`"artifact.module.build.name"`, "not supported", "repo, path, name"}},
		{"archive field", `items.find({"archive.entry.name":{"$eq":"a"}})`, []string{`"archive.entry.name"`, "only the fields of the items domain"}},
		{"unknown stat field", `items.find({"stat.nope":{"$gt":5}})`, []string{`"stat.nope"`, "only the fields of the items domain"}},
		{"stat include with limit", `items.find().include("repo","path","name","stat.downloaded").limit(10)`, []string{"re-sorts such queries by item id"}},
		{"stat include with sort", `items.find().include("repo","path","name","stat.downloaded").sort({"$asc":["path"]})`, []string{"primary domain only"}},
		{"stat in sort", `items.find().include("repo","path","name").sort({"$asc":["stat.downloaded"]})`, []string{"Only the result fields"}},
		{"stat $last on a count", `items.find({"stat.downloads":{"$last":"1d"}})`, []string{"numeric field"}},
		{"unsupported domain builds", `builds.find({"name":"x"})`, []string{`AQL domain "builds" is not supported`, "items.find"}},
		{"unsupported domain entries", `archive.entries.find()`, []string{`"archive.entries"`}},
		{"unsupported action", `items.delete({"name":"x"})`, []string{"items.delete", "not supported"}},
		{"unknown action", `items.search()`, []string{syntax + `search()`}},
		{"no domain", `find()`, []string{syntax + `()`}},
		{"unknown call", `items.find().distinct(true)`, []string{syntax + `distinct(true)`}},
		{"repeated call", `items.find().limit(1).limit(2)`, []string{syntax + `limit(2)`}},
		{"include after sort", `items.find().sort({"$asc":["name"]}).include("name")`, []string{syntax + `include("name")`}},
		{"offset after limit", `items.find().limit(1).offset(1)`, []string{syntax + `offset(1)`}},
		{"negative limit", `items.find().limit(-1)`, []string{syntax + `-1)`}},
		{"fractional offset", `items.find().offset(1.5)`, []string{syntax + `1.5)`}},
		{"string limit", `items.find().limit("1")`, []string{syntax + `1")`}},
		{"empty include", `items.find().include()`, []string{syntax + `)`}},
		{"unknown include field", `items.find().include("name","sha1")`, []string{syntax + `sha1")`}},
		{"nested include field", `items.find().include("archive.entry.name")`, []string{`"archive.entry.name"`}},
		{"bad sort direction", `items.find().sort({"$up":["name"]})`, []string{syntax + `$up"`}},
		{"unknown sort field", `items.find().sort({"$desc":["dsdsdsd","repo"]})`, []string{syntax + `dsdsdsd","repo"]})`}},
		{"sort by property", `items.find().sort({"$asc":["@a"]})`, []string{"Only the result fields are allowed to use in the sort section."}},
		{"sort field not included", `items.find().include("name").sort({"$asc":["repo"]})`, []string{"Only the result fields are allowed to use in the sort section."}},
		{"sort field not default", `items.find().sort({"$asc":["sha256"]})`, []string{"Only the result fields are allowed to use in the sort section."}},
		{"sort duplicate", `items.find().sort({"$asc":["name","name"]})`, []string{"Duplicate fields, all the fields in the sort section should be unique."}},
		{"sort with properties", `items.find().include("name","property").sort({"$asc":["name"]})`, []string{"sort, offset and limit", "primary domain"}},
		{"limit with properties", `items.find().include("name","@a").limit(1)`, []string{"sort, offset and limit"}},
		{"offset with properties", `items.find().include("property.*").offset(2)`, []string{"sort, offset and limit"}},
		{"relative unit h", `items.find({"created":{"$before":"2h"}})`, []string{`2h`, `Unknown time unit "h"`, validRelUnits, "no hours unit"}},
		{"relative unit hours", `items.find({"modified":{"$last":"1hours"}})`, []string{`1hours`, `"hours"`, validRelUnits}},
		{"relative no number", `items.find({"created":{"$last":"days"}})`, []string{"Invalid relative date format for: days"}},
		{"relative no unit", `items.find({"created":{"$last":"12"}})`, []string{"Invalid relative date format for: 12"}},
		{"relative fraction", `items.find({"created":{"$last":"1.5d"}})`, []string{"Invalid relative date format for: 1.5d"}},
		{"relative number value", `items.find({"created":{"$last":5}})`, []string{"Invalid relative date format for: 5"}},
		{"relative on string field", `items.find({"name":{"$before":"1d"}})`, []string{"$before", "date fields only", `"name"`}},
		{"relative on property", `items.find({"@a":{"$last":"1d"}})`, []string{"$last", "date fields only"}},
		{"bad date", `items.find({"created":{"$gt":"yesterday"}})`, []string{`Invalid date value "yesterday"`, `"created"`}},
		{"match on date", `items.find({"created":{"$match":"2021*"}})`, []string{"$match", "date field"}},
		{"bad size", `items.find({"size":{"$gt":"big"}})`, []string{`Invalid value "big"`, `"size"`}},
		{"fractional size", `items.find({"size":1.5})`, []string{`Invalid value "1.5"`}},
		{"match on size", `items.find({"size":{"$match":"1*"}})`, []string{"$match", "numeric field"}},
		{"null with gt", `items.find({"size":{"$gt":null}})`, []string{"'null' values are allowed to use only with equals and not equals"}},
		{"null with match on property", `items.find({"@a":{"$match":null}})`, []string{"'null' values"}},
		{"bare at", `items.find({"@":"x"})`, []string{syntax + `@":"x"})`}},
		{"stray character", `items.find({"name":"a"} # comment)`, []string{syntax + `# comment)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.query, tt.want...) })
	}
}

func TestParseQueryLength(t *testing.T) {
	build := func(n int) string {
		head, tail := `items.find({"name":"`, `"})`
		return head + strings.Repeat("é", n-len(head)-len(tail)) + tail // counted in characters, not bytes
	}
	if _, err := Parse(build(MaxQueryLength)); err != nil {
		t.Fatalf("6000 characters: %v", err)
	}
	wantError(t, build(MaxQueryLength+1), "too long", "6001 characters", "6000")
}

func TestQueryAccessors(t *testing.T) {
	q := mustParse(t, `items.find({"name":"a"}).include("name","repo","name").sort({"$desc":["repo","name"]}).offset(3).limit(7)`)
	if got := q.Fields(); !slices.Equal(got, []string{"name", "repo"}) {
		t.Errorf("Fields = %q", got)
	}
	if f, desc := q.Sort(); !slices.Equal(f, []string{"repo", "name"}) || !desc {
		t.Errorf("Sort = %q %v", f, desc)
	}
	if q.Offset() != 3 {
		t.Errorf("Offset = %d", q.Offset())
	}
	if n, ok := q.Limit(); n != 7 || !ok {
		t.Errorf("Limit = %d %v", n, ok)
	}
	if !q.PrimaryFieldsOnly() || q.Text() == "" {
		t.Errorf("PrimaryFieldsOnly = false or empty Text")
	}
	if all, ks := q.Properties(); all || len(ks) != 0 {
		t.Errorf("Properties = %v %q", all, ks)
	}

	d := mustParse(t, `items.find()`)
	if got := d.Fields(); !slices.Equal(got, []string{"repo", "path", "name", "type", "size", "created", "created_by", "modified", "modified_by", "updated"}) {
		t.Errorf("default Fields = %q", got)
	}
	if _, ok := d.Limit(); ok {
		t.Error("Limit present without .limit()")
	}
	if f, _ := d.Sort(); f != nil {
		t.Errorf("Sort = %q", f)
	}

	p := mustParse(t, `items.find().include("@b","sha256","@a","@b","property")`)
	if all, ks := p.Properties(); !all || !slices.Equal(ks, []string{"b", "a"}) {
		t.Errorf("Properties = %v %q", all, ks)
	}
	if p.PrimaryFieldsOnly() || !slices.Equal(p.Fields(), []string{"sha256"}) {
		t.Errorf("PrimaryFieldsOnly = %v, Fields = %q", p.PrimaryFieldsOnly(), p.Fields())
	}
	star := mustParse(t, `items.find().include("name","*")`)
	if got := star.Fields(); len(got) != int(numFields) || got[0] != "name" || got[1] != "repo" {
		t.Errorf("include * Fields = %q", got)
	}
	onlyProps := mustParse(t, `items.find().include("@a")`)
	if got := onlyProps.Fields(); !slices.Equal(got, d.Fields()) {
		t.Errorf("properties-only include Fields = %q, want the default fields", got)
	}
}
