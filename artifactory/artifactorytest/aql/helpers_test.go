package aql

import (
	"bytes"
	"errors"
	"iter"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the creation time of the first test item; now is when queries run.
var (
	t0  = time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)
	now = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// item is a test Row: a file or folder of the emulator's storage.
type item struct {
	repo, path, name      string
	folder                bool
	size                  int64
	created, modified     time.Time
	updated               time.Time
	createdBy, modifiedBy string
	sha256, sha1, md5     string
	props                 map[string][]string
}

// Field implements Row the way the emulator does: folders have no size or
// checksums; depth counts the path segments including the name.
func (it *item) Field(name string) (any, bool) {
	switch name {
	case "repo":
		return it.repo, true
	case "path":
		return it.path, true
	case "name":
		return it.name, true
	case "type":
		if it.folder {
			return "folder", true
		}
		return "file", true
	case "depth":
		return depthOf(it.path), true
	case "created":
		return it.created, true
	case "modified":
		return it.modified, true
	case "updated":
		return it.updated, true
	case "created_by":
		return it.createdBy, true
	case "modified_by":
		return it.modifiedBy, true
	}
	if it.folder {
		return nil, false
	}
	switch name {
	case "size":
		return it.size, true
	case "sha256":
		return it.sha256, true
	case "actual_sha1", "original_sha1":
		return it.sha1, true
	case "actual_md5", "original_md5":
		return it.md5, true
	}
	return nil, false
}

// Properties implements Row.
func (it *item) Properties() map[string][]string { return it.props }

// depthOf is Artifactory's depth of an item whose parent path is path.
func depthOf(path string) int64 {
	if path == "." {
		return 1
	}
	return int64(strings.Count(path, "/") + 2)
}

// mk builds an item from "repo/dir/.../name"; a trailing "/" makes a folder.
// The i-th item of a data set is created i hours after t0.
func mk(i int, full string, props map[string][]string) *item {
	folder := strings.HasSuffix(full, "/")
	full = strings.TrimSuffix(full, "/")
	repo, rel, _ := strings.Cut(full, "/")
	path, name := ".", rel
	if j := strings.LastIndex(rel, "/"); j >= 0 {
		path, name = rel[:j], rel[j+1:]
	}
	c := t0.Add(time.Duration(i) * time.Hour)
	it := &item{repo: repo, path: path, name: name, folder: folder, created: c, modified: c.Add(time.Minute),
		updated: c.Add(2 * time.Minute), createdBy: "admin", modifiedBy: "deployer", props: props}
	if !folder {
		it.size = int64(100 * (i + 1))
		it.sha256 = strings.Repeat("a", 63) + string(rune('0'+i%10))
		it.sha1, it.md5 = "s1-"+name, "m5-"+name
	}
	return it
}

// dataset builds items from specs, created one hour apart in order.
func dataset(specs ...string) []*item {
	items := make([]*item, len(specs))
	for i, s := range specs {
		items[i] = mk(i, s, nil)
	}
	return items
}

// dockerRepo is a small Docker repository with the shapes the pruner meets.
func dockerRepo() []*item {
	items := dataset(
		"docker-local/img/",                         // 0
		"docker-local/img/notes.txt",                // 1
		"docker-local/img/latest/",                  // 2
		"docker-local/img/latest/manifest.json",     // 3
		"docker-local/img/latest/sha256__aaa",       // 4
		"docker-local/img/sha256:abc/",              // 5
		"docker-local/img/sha256:abc/manifest.json", // 6
		"docker-local/img/_uploads/",                // 7
		"docker-local/img/_uploads/tmp",             // 8
		"docker-local/img/v1/",                      // 9
		"docker-local/img/v1/list.manifest.json",    // 10
		"docker-local/root.txt",                     // 11
		"docker-dev/img/",                           // 12
		"docker-dev/img/x",                          // 13
		"other/readme.md",                           // 14
	)
	items[3].props = map[string][]string{"docker.manifest": {"latest"}, "docker.repoName": {"img"}, "sha256": {"abc"}}
	items[6].props = map[string][]string{"docker.manifest.digest": {"sha256:abc"}}
	items[10].props = map[string][]string{"docker.manifest": {"v1"}, "keep": {"true"}}
	return items
}

// seq iterates items as Rows.
func seq(items []*item) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for _, it := range items {
			if !yield(it) {
				return
			}
		}
	}
}

// keyOfItem is "repo/path/name" ("repo/name" in the repository root).
func keyOfItem(it *item) string {
	if it.path == "." {
		return it.repo + "/" + it.name
	}
	return it.repo + "/" + it.path + "/" + it.name
}

// keys lists the items of a result.
func keys(rows []Row) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, keyOfItem(r.(*item)))
	}
	return out
}

// pick lists the keys of items by index.
func pick(items []*item, idx ...int) []string {
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, keyOfItem(items[i]))
	}
	return out
}

// mustParse parses a query or fails the test.
func mustParse(t testing.TB, text string) *Query {
	t.Helper()
	q, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%s): %v", text, err)
	}
	return q
}

// run executes a query over items and returns the keys of the results.
func run(t testing.TB, text string, items []*item) []string {
	t.Helper()
	return keys(mustParse(t, text).Execute(seq(items), now, 0).Rows)
}

// body executes a query and returns the JSON response body.
func body(t testing.TB, text string, items []*item, maxResults int, loc *time.Location) string {
	t.Helper()
	q := mustParse(t, text)
	var b bytes.Buffer
	if err := q.WriteJSON(&b, q.Execute(seq(items), now, maxResults), loc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// wantError checks that Parse fails with a 400 whose message contains every fragment.
func wantError(t *testing.T, text string, fragments ...string) {
	t.Helper()
	_, err := Parse(text)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%.80s) error = %v, want *Error", text, err)
	}
	if e.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", e.Status)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("message %q does not contain %q", e.Message, f)
		}
	}
}

// equalKeys compares result keys, reporting both lists on mismatch.
func equalKeys(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
