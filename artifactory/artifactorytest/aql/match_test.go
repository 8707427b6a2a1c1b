package aql

import (
	"fmt"
	"testing"
	"time"
)

// matchCase is one criteria object evaluated against one row.
type matchCase struct {
	name, crit string
	want       bool
}

// checkMatch evaluates each case's criteria against row.
func checkMatch(t *testing.T, row Row, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			q := mustParse(t, "items.find("+tt.crit+")")
			if got := q.Match(row, now); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.crit, got, tt.want)
			}
		})
	}
}

// sample is a file docker-local/img/latest/manifest.json, 1234 bytes,
// created 2024-01-10T12:00:00Z, modified 10 days before now, updated 90 minutes before now.
func sample() *item {
	it := mk(0, "docker-local/img/latest/manifest.json", map[string][]string{
		"docker.manifest": {"latest", "stable"},
		"docker.repoName": {"img"},
		"build.number":    {"42"},
	})
	it.size = 1234
	it.modified = now.AddDate(0, 0, -10)
	it.updated = now.Add(-90 * time.Minute)
	it.sha256 = "deadbeef"
	return it
}

func TestMatchStringOperators(t *testing.T) {
	checkMatch(t, sample(), []matchCase{
		{"bare eq", `{"name":"manifest.json"}`, true},
		{"bare eq miss", `{"name":"Manifest.json"}`, false},
		{"eq", `{"repo":{"$eq":"docker-local"}}`, true},
		{"ne", `{"repo":{"$ne":"docker-local"}}`, false},
		{"ne other", `{"repo":{"$ne":"other"}}`, true},
		{"gt", `{"name":{"$gt":"manifest"}}`, true},
		{"gt equal", `{"name":{"$gt":"manifest.json"}}`, false},
		{"gte equal", `{"name":{"$gte":"manifest.json"}}`, true},
		{"lt", `{"name":{"$lt":"n"}}`, true},
		{"lt bytewise uppercase", `{"name":{"$lt":"Z"}}`, false},
		{"lte equal", `{"name":{"$lte":"manifest.json"}}`, true},
		{"lte less", `{"name":{"$lte":"m"}}`, false},
		{"match", `{"path":{"$match":"img/*"}}`, true},
		{"match miss", `{"path":{"$match":"img"}}`, false},
		{"nmatch", `{"path":{"$nmatch":"img/*"}}`, false},
		{"nmatch miss", `{"name":{"$nmatch":"*.txt"}}`, true},
		{"eq with star is literal", `{"name":{"$eq":"*.json"}}`, false},
		{"number value on string field", `{"name":{"$ne":5}}`, true},
		{"created_by", `{"created_by":"admin","modified_by":{"$match":"dep*"}}`, true},
		{"checksums", `{"sha256":"deadbeef","actual_sha1":"s1-manifest.json","actual_md5":{"$match":"m5-*"},"original_sha1":{"$ne":"x"},"original_md5":"m5-manifest.json"}`, true},
		{"several operators ANDed", `{"name":{"$match":"*.json","$nmatch":"list.*"}}`, true},
		{"several operators ANDed miss", `{"name":{"$match":"*.json","$nmatch":"man*"}}`, false},
		{"eq null on present field", `{"sha256":null}`, false},
		{"ne null on present field", `{"sha256":{"$ne":null}}`, true},
	})
}

func TestMatchMissingFields(t *testing.T) {
	folder := mk(0, "docker-local/img/", nil)
	checkMatch(t, folder, []matchCase{
		{"eq on missing", `{"type":"folder","sha256":"x"}`, false},
		{"ne on missing is true (f != ? or f is null)", `{"type":"folder","sha256":{"$ne":"x"}}`, true},
		{"nmatch on missing is true", `{"type":"folder","actual_md5":{"$nmatch":"*"}}`, true},
		{"match on missing", `{"type":"folder","actual_md5":{"$match":"*"}}`, false},
		{"gt on missing", `{"type":"folder","size":{"$gt":-1}}`, false},
		{"ne on missing number", `{"type":"folder","size":{"$ne":0}}`, true},
		{"eq null", `{"type":"folder","sha256":null}`, true},
		{"eq null explicit", `{"type":"folder","size":{"$eq":null}}`, true},
		{"ne null", `{"type":"folder","sha256":{"$ne":null}}`, false},
	})
}

func TestMatchNumbers(t *testing.T) {
	checkMatch(t, sample(), []matchCase{
		{"bare number", `{"size":1234}`, true},
		{"bare numeric string", `{"size":"1234"}`, true},
		{"eq", `{"size":{"$eq":1234}}`, true},
		{"ne", `{"size":{"$ne":1234}}`, false},
		{"gt numeric not lexicographic", `{"size":{"$gt":999}}`, true},
		{"gt string value", `{"size":{"$gt":"999"}}`, true},
		{"gte", `{"size":{"$gte":1234}}`, true},
		{"lt", `{"size":{"$lt":1234}}`, false},
		{"lte", `{"size":{"$lte":1234.0}}`, true},
		{"exponent", `{"size":{"$lt":1.3e3}}`, true},
		{"depth 3", `{"depth":3}`, true},
		{"depth gt", `{"depth":{"$gt":2}}`, true},
		{"depth lt", `{"depth":{"$lt":3}}`, false},
	})
}

func TestMatchDepth(t *testing.T) {
	tests := []struct {
		full  string
		depth int
	}{
		{"r/file", 1},
		{"r/folder/", 1},
		{"r/a/file", 2},
		{"r/a/b/file", 3},
		{"r/a/b/c/", 3},
	}
	for _, tt := range tests {
		it := mk(0, tt.full, nil)
		for d := 0; d <= 5; d++ {
			q := mustParse(t, fmt.Sprintf(`items.find({"type":"any","depth":%d})`, d))
			if got := q.Match(it, now); got != (d == tt.depth) {
				t.Errorf("%s depth %d: Match = %v", tt.full, d, got)
			}
		}
	}
}

func TestMatchTimes(t *testing.T) {
	it := sample() // created 2024-01-10T12:00:00Z
	checkMatch(t, it, []matchCase{
		{"eq with millis", `{"created":"2024-01-10T12:00:00.000Z"}`, true},
		{"eq without millis", `{"created":"2024-01-10T12:00:00Z"}`, true},
		{"eq with offset", `{"created":"2024-01-10T16:00:00.000+04:00"}`, true},
		{"eq with compact offset", `{"created":"2024-01-10T07:00:00-0500"}`, true},
		{"eq without zone is UTC", `{"created":"2024-01-10T12:00:00"}`, true},
		{"eq ignores sub-millisecond", `{"created":"2024-01-10T12:00:00.0004Z"}`, true},
		{"ne", `{"created":{"$ne":"2024-01-10T12:00:00Z"}}`, false},
		{"gt date only", `{"created":{"$gt":"2024-01-10"}}`, true},
		{"gt chronological across zones", `{"created":{"$gt":"2024-01-10T15:59:59+04:00"}}`, true},
		{"gt equal", `{"created":{"$gt":"2024-01-10T12:00:00Z"}}`, false},
		{"gte equal", `{"created":{"$gte":"2024-01-10T12:00:00Z"}}`, true},
		{"lt", `{"created":{"$lt":"2024-01-11"}}`, true},
		{"lt miss", `{"created":{"$lt":"2024-01-10T11:59:59.999Z"}}`, false},
		{"lte", `{"created":{"$lte":"2024-01-10T12:00:00.000Z"}}`, true},
		{"epoch millis", fmt.Sprintf(`{"created":%d}`, t0.UnixMilli()), true},
		{"range", `{"created":{"$gt":"2024-01-01","$lt":"2024-02-01"}}`, true},
		{"modified before 9d", `{"modified":{"$before":"9d"}}`, true},
		{"modified before 11d", `{"modified":{"$before":"11d"}}`, false},
		{"modified last 11d", `{"modified":{"$last":"11d"}}`, true},
		{"modified last 9d", `{"modified":{"$last":"9d"}}`, false},
		{"updated last 91minutes", `{"updated":{"$last":"91minutes"}}`, true},
		{"updated last 89minutes", `{"updated":{"$last":"89minutes"}}`, false},
		{"updated before 89minutes", `{"updated":{"$before":"89minutes"}}`, true},
	})
}

func TestRelativeTimeUnits(t *testing.T) {
	tests := []struct {
		value string
		age   time.Duration // the item's age; the unit amount is just above it
		edge  time.Time     // now minus the value
	}{
		{"1500ms", time.Second, now.Add(-1500 * time.Millisecond)},
		{"1500mills", time.Second, now.Add(-1500 * time.Millisecond)},
		{"30s", 20 * time.Second, now.Add(-30 * time.Second)},
		{"30seconds", 20 * time.Second, now.Add(-30 * time.Second)},
		{"10minutes", 9 * time.Minute, now.Add(-10 * time.Minute)},
		{"2d", 47 * time.Hour, now.AddDate(0, 0, -2)},
		{"2days", 47 * time.Hour, now.AddDate(0, 0, -2)},
		{"1w", 6 * 24 * time.Hour, now.AddDate(0, 0, -7)},
		{"1weeks", 6 * 24 * time.Hour, now.AddDate(0, 0, -7)},
		{"3mo", 80 * 24 * time.Hour, now.AddDate(0, -3, 0)},
		{"3months", 80 * 24 * time.Hour, now.AddDate(0, -3, 0)},
		{"1y", 300 * 24 * time.Hour, now.AddDate(-1, 0, 0)},
		{"1years", 300 * 24 * time.Hour, now.AddDate(-1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			rt, err := parseRelTime(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if got := rt.before(now); !got.Equal(tt.edge) {
				t.Errorf("before(now) = %v, want %v", got, tt.edge)
			}
			young := mk(0, "r/f", nil)
			young.created = now.Add(-tt.age)
			old := mk(0, "r/g", nil)
			old.created = tt.edge.Add(-time.Millisecond)
			last := mustParse(t, `items.find({"created":{"$last":"`+tt.value+`"}})`)
			before := mustParse(t, `items.find({"created":{"$before":"`+tt.value+`"}})`)
			if !last.Match(young, now) || last.Match(old, now) {
				t.Errorf("$last: young %v old %v", last.Match(young, now), last.Match(old, now))
			}
			if before.Match(young, now) || !before.Match(old, now) {
				t.Errorf("$before: young %v old %v", before.Match(young, now), before.Match(old, now))
			}
		})
	}
	// The edge itself is neither older nor newer than now minus the amount.
	edge := mk(0, "r/e", nil)
	edge.created = now.AddDate(0, 0, -2)
	if mustParse(t, `items.find({"created":{"$last":"2d"}})`).Match(edge, now) ||
		mustParse(t, `items.find({"created":{"$before":"2d"}})`).Match(edge, now) {
		t.Error("the edge matched $last or $before")
	}
	// Huge amounts saturate instead of overflowing.
	if !mustParse(t, `items.find({"created":{"$last":"999999999minutes"}})`).Match(edge, now) {
		t.Error("$last 999999999minutes does not match")
	}
}

func TestMatchJunctions(t *testing.T) {
	checkMatch(t, sample(), []matchCase{
		{"top level keys are ANDed", `{"name":"manifest.json","repo":"other"}`, false},
		{"or", `{"$or":[{"repo":"other"},{"name":"manifest.json"}]}`, true},
		{"or miss", `{"$or":[{"repo":"other"},{"name":"x"}]}`, false},
		{"and", `{"$and":[{"repo":"docker-local"},{"name":"manifest.json"}]}`, true},
		{"and miss", `{"$and":[{"repo":"docker-local"},{"name":"x"}]}`, false},
		// Artifactory joins every criterion inside a "$or" array with OR, also
		// the keys of one object (ParserToAqlAdapter's operator stack).
		{"keys inside or are ORed", `{"$or":[{"repo":"other","name":"manifest.json"}]}`, true},
		{"keys inside and are ANDed", `{"$and":[{"repo":"other","name":"manifest.json"}]}`, false},
		{"jfrog exclusion keeps", `{"$or":[{"path":{"$nmatch":"*"},"name":{"$nmatch":"*.txt"}}]}`, true},
		{"jfrog exclusion drops", `{"$or":[{"path":{"$nmatch":"*"},"name":{"$nmatch":"*.json"}}]}`, false},
		{"or of ands", `{"$or":[{"$and":[{"repo":"docker-local","path":"x"}]},{"$and":[{"repo":"docker-local","path":"img/latest"}]}]}`, true},
		{"or of ands miss", `{"$or":[{"$and":[{"repo":"docker-local","path":"x"}]},{"$and":[{"repo":"other","path":"img/latest"}]}]}`, false},
		{"deep nesting", `{"$and":[{"$or":[{"name":"x"},{"$and":[{"$or":[{"repo":"y"},{"size":1234}]},{"depth":3}]}]}]}`, true},
		{"repeated or keys are ANDed", `{"$or":[{"name":"manifest.json"}],"$or":[{"repo":"other"}]}`, false},
		{"empty object in or", `{"$or":[{}]}`, true},
		{"empty objects", `{"$and":[{},{"name":"manifest.json"}]}`, true},
	})
}

func TestMatchProperties(t *testing.T) {
	checkMatch(t, sample(), []matchCase{
		{"bare", `{"@docker.manifest":"latest"}`, true},
		{"any value matches", `{"@docker.manifest":"stable"}`, true},
		{"miss", `{"@docker.manifest":"v1"}`, false},
		{"missing key", `{"@nope":"latest"}`, false},
		{"eq", `{"@docker.repoName":{"$eq":"img"}}`, true},
		{"match", `{"@docker.manifest":{"$match":"lat*"}}`, true},
		{"match miss", `{"@docker.manifest":{"$match":"v*"}}`, false},
		{"gt string", `{"@build.number":{"$gt":"41"}}`, true},
		{"lt string compare", `{"@build.number":{"$lt":"5"}}`, true},
		{"gte", `{"@build.number":{"$gte":"42"}}`, true},
		{"lte miss", `{"@build.number":{"$lte":"41"}}`, false},
		{"number value", `{"@build.number":42}`, true},
		// Negative operators mean "no value satisfies": NOT EXISTS in Artifactory's SQL.
		{"ne: some other value is not enough", `{"@docker.manifest":{"$ne":"latest"}}`, false},
		{"ne: no such value", `{"@docker.manifest":{"$ne":"v1"}}`, true},
		{"ne: missing key", `{"@keep":{"$ne":"true"}}`, true},
		{"nmatch: some value matches", `{"@docker.manifest":{"$nmatch":"st*"}}`, false},
		{"nmatch: none matches", `{"@docker.manifest":{"$nmatch":"v*"}}`, true},
		{"nmatch: missing key", `{"@keep":{"$nmatch":"*"}}`, true},
		{"and of two values of one key", `{"@docker.manifest":"latest","$and":[{"@docker.manifest":"stable"}]}`, true},
		{"key with star value: exists", `{"@docker.repoName":"*"}`, true},
		{"key with star value: missing", `{"@nope":"*"}`, false},
		{"key pattern", `{"@docker.*":{"$match":"*"}}`, true},
		{"key pattern miss", `{"@helm.*":{"$match":"*"}}`, false},
		{"key ne star: no such key", `{"@nope":{"$ne":"*"}}`, true},
		{"key nmatch star: has such key", `{"@docker.*":{"$nmatch":"*"}}`, false},
		{"any key with value", `{"@*":"img"}`, true},
		{"any key with value miss", `{"@*":"nothing"}`, false},
		{"any key match", `{"@*":{"$match":"*"}}`, true},
		{"any key any value", `{"@*":"*"}`, true},
		{"no property at all", `{"@*":{"$ne":"*"}}`, false},
		{"any key ne", `{"@*":{"$ne":"img"}}`, false},
		{"key is literal for values", `{"@docker.*":"latest"}`, false},
		{"eq null never holds", `{"@docker.manifest":null}`, false},
		{"ne null always holds", `{"@nope":{"$ne":null}}`, true},
		{"property or field", `{"$or":[{"@nope":"x"},{"name":"manifest.json"}]}`, true},
	})
	bare := mk(0, "r/plain", nil)
	checkMatch(t, bare, []matchCase{
		{"no properties: eq", `{"@a":"b"}`, false},
		{"no properties: ne", `{"@a":{"$ne":"b"}}`, true},
		{"no properties: any key", `{"@*":{"$match":"*"}}`, false},
		{"no properties: any key any value", `{"@*":"*"}`, false},
		{"no properties: none at all", `{"@*":{"$ne":"*"}}`, true},
	})
}

func TestMatchType(t *testing.T) {
	file := mk(0, "r/a/f", nil)
	folder := mk(1, "r/a/", nil)
	tests := []struct {
		crit             string
		onFile, onFolder bool
	}{
		{`{}`, true, false},
		{`{"name":{"$match":"*"}}`, true, false},
		{`{"type":"file"}`, true, false},
		{`{"type":"folder"}`, false, true},
		{`{"type":"any"}`, true, true},
		{`{"type":{"$eq":"any"}}`, true, true},
		{`{"type":{"$ne":"file"}}`, false, true},
		{`{"type":{"$match":"f*"}}`, true, true},
		{`{"$or":[{"type":"folder"},{"name":"zzz"}]}`, false, true}, // "type" named anywhere disables the default
		{`{"$or":[{"type":"folder"},{"name":"f"}]}`, true, true},
	}
	for _, tt := range tests {
		q := mustParse(t, "items.find("+tt.crit+")")
		if got := q.Match(file, now); got != tt.onFile {
			t.Errorf("%s on file = %v", tt.crit, got)
		}
		if got := q.Match(folder, now); got != tt.onFolder {
			t.Errorf("%s on folder = %v", tt.crit, got)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"**", "x", true},
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "abC", false},
		{"a*", "a", true},
		{"a*", "a/b/c", true},
		{"*c", "a/b/c", true},
		{"*b*", "a/b/c", true},
		{"a*c", "ac", true},
		{"a*c", "abc/c", true},
		{"a*c", "ab", false},
		{"a*a", "a", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*b*b*c", "abbc", true},
		{"a*b*b*c", "abc", false},
		{"img/*", "img", false},
		{"img/*", "img/", true},
		{"img/*", "img/latest", true},
		{"*img", "img", true},
		{".", ".", true},
		{".", "a", false},
		{"*.json", "manifest.json", true},
		{"*.json", "manifestxjson", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"?", "é", true}, // one character, not one byte
		{"?", "ab", false},
		{"??", "é", false},
		{"*?", "", false},
		{"*?", "x", true},
		{"?*?", "ab", true},
		{"*a?c*", "xxabcxx", true},
		{"*a?c", "abcabd", false},
		{"*é?", "aéb", true},
		{"sha256:*", "sha256:abc", true},
		{"[a]", "[a]", true},
		{"[a]", "a", false},
		{"a+", "a+", true},
		{"a+", "aa", false},
		{"(x)", "(x)", true},
		{"^a$", "^a$", true},
		// Artifactory passes the pattern to SQL LIKE: "_" and "%" are wildcards too.
		{"sha256__*", "sha256__aaa", true},
		{"sha256__*", "sha256:abc", true},
		{"*_uploads*", "img/_uploads", true},
		{"*_uploads*", "xuploads", true},
		{"*_uploads*", "uploads", false},
		{"a%c", "abbbc", true},
		{`sha256\_\_*`, "sha256__aaa", true},
		{`sha256\_\_*`, "sha256:abc", false},
		{`100\%`, "100%", true},
		{`100\%`, "1000", false},
		{`a\`, `a\`, true},
	}
	for _, tt := range tests {
		g := compileGlob(tt.pattern)
		if got := g.match(tt.value); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

func TestMatchRootPath(t *testing.T) {
	root := mk(0, "r/file.txt", nil)
	checkMatch(t, root, []matchCase{
		{"path is dot", `{"path":"."}`, true},
		{"match dot", `{"path":{"$match":"."}}`, true},
		{"match star", `{"path":{"$match":"*"}}`, true},
		{"ne dot", `{"path":{"$ne":"."}}`, false},
		{"match question", `{"path":{"$match":"?"}}`, true},
		{"nmatch star", `{"path":{"$nmatch":"*"}}`, false},
	})
}
