package prune

import (
	"errors"
	"testing"
)

// TestWithdrawEachKeepsExactlyWhatItIsTold: one pass withdraws exactly the deletions keep names, with their reason
// and error, leaves kept folders alone (keep is never asked about them), and updates the byte figures as a
// Withdraw per folder would: a checksum shared by a withdrawn folder is no longer freed.
func TestWithdrawEachKeepsExactlyWhatItIsTold(t *testing.T) {
	build := func() *RepoPlan {
		return &RepoPlan{
			Repo: "docker-local", BytesKnown: true,
			Images: []ImagePlan{
				{Name: "a", Folders: []Folder{
					{Path: "a/sha256:1", Image: "a", Delete: true},
					{Path: "a/sha256:2", Image: "a", Delete: true},
					{Path: "a/sha256:3", Image: "a", Reason: ReasonTagged},
				}},
				{Name: "b", Folders: []Folder{{Path: "b/sha256:4", Image: "b", Delete: true}}},
			},
			folderFiles: map[string][]File{
				"a/sha256:1": {{Path: "a/sha256:1", Name: "manifest.json", Size: 10, SHA256: "m1"}, {Path: "a/sha256:1", Name: "layer", Size: 100, SHA256: "shared"}},
				"a/sha256:2": {{Path: "a/sha256:2", Name: "manifest.json", Size: 20, SHA256: "m2"}, {Path: "a/sha256:2", Name: "layer", Size: 100, SHA256: "shared"}},
				"b/sha256:4": {{Path: "b/sha256:4", Name: "manifest.json", Size: 40, SHA256: "m4"}},
			},
			holders: map[string][]string{
				"m1": {"a/sha256:1"}, "m2": {"a/sha256:2"}, "m4": {"b/sha256:4"}, "shared": {"a/sha256:1", "a/sha256:2"},
			},
		}
	}
	errNo := errors.New("not approved")
	bulk, single := build(), build()
	bulk.updateBytes()
	if bulk.Bytes != 270 || bulk.FreedBytes != 170 {
		t.Fatalf("before: bytes %d freed %d, want 270 and 170", bulk.Bytes, bulk.FreedBytes)
	}
	var asked []string
	n := bulk.WithdrawEach(func(fo Folder) (Reason, error) {
		asked = append(asked, fo.Path)
		if fo.Path == "a/sha256:2" {
			return ReasonNotApproved, errNo
		}
		return "", nil
	})
	single.Withdraw("a/sha256:2", ReasonNotApproved, errNo)

	if want := []string{"a/sha256:1", "a/sha256:2", "b/sha256:4"}; len(asked) != len(want) || asked[0] != want[0] || asked[1] != want[1] || asked[2] != want[2] {
		t.Errorf("keep was asked about %v, want the planned deletions %v in order", asked, want)
	}
	if n != 1 {
		t.Errorf("withdrew %d, want 1", n)
	}
	var dels []string
	for _, fo := range bulk.Deletions() {
		dels = append(dels, fo.Path)
	}
	if len(dels) != 2 || dels[0] != "a/sha256:1" || dels[1] != "b/sha256:4" {
		t.Errorf("deletions %v, want [a/sha256:1 b/sha256:4]", dels)
	}
	got, _ := bulk.Folder("a/sha256:2")
	if got.Delete || got.Reason != ReasonNotApproved || !errors.Is(got.Err, errNo) {
		t.Errorf("withdrawn folder: %+v", got)
	}
	if kept, _ := bulk.Folder("a/sha256:3"); kept.Reason != ReasonTagged || kept.Err != nil {
		t.Errorf("a kept folder changed: %+v", kept)
	}
	// 110 + 40 bytes remain; "shared" is still held by a withdrawn folder, so only m1 and m4 are freed.
	if bulk.Bytes != 150 || bulk.FreedBytes != 50 || bulk.Bytes != single.Bytes || bulk.FreedBytes != single.FreedBytes {
		t.Errorf("after: bytes %d freed %d (Withdraw gives %d %d), want 150 and 50", bulk.Bytes, bulk.FreedBytes, single.Bytes, single.FreedBytes)
	}
}
