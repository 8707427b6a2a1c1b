package artifactorytest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Fixture is the emulator's state as JSON: what --fixture loads and GET /_emulator/snapshot answers.
//
// Items name their folder in "path" as AQL does ("." for the repository root). A file has either "content" (base64),
// "text" (UTF-8 content, for fixtures written by hand) or only "size" and checksums (metadata only; its content
// is then filler whose checksum does not match). Folders are created for every file's parents; a folder item
// is only needed to give a folder timestamps or properties. Zero timestamps default to the emulator's clock.
type Fixture struct {
	Now          time.Time     `json:"now,omitzero"`
	Repositories []Repo        `json:"repositories"`
	Items        []FixtureItem `json:"items"`
}

// FixtureItem is one file or folder of a Fixture.
type FixtureItem struct {
	Repo       string              `json:"repo"`
	Path       string              `json:"path"`
	Name       string              `json:"name"`
	Type       string              `json:"type,omitempty"` // "file" (default) or "folder"
	Size       int64               `json:"size,omitempty"`
	Created    time.Time           `json:"created,omitzero"`
	Modified   time.Time           `json:"modified,omitzero"`
	Updated    time.Time           `json:"updated,omitzero"`
	CreatedBy  string              `json:"created_by,omitempty"`
	ModifiedBy string              `json:"modified_by,omitempty"`
	SHA1       string              `json:"sha1,omitempty"`
	SHA256     string              `json:"sha256,omitempty"`
	MD5        string              `json:"md5,omitempty"`
	Properties map[string][]string `json:"properties,omitempty"`
	Content    []byte              `json:"content,omitempty"`
	Text       *string             `json:"text,omitempty"`
}

// ReadFixture reads a fixture file.
func ReadFixture(path string) (*Fixture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeFixture(f)
}

// DecodeFixture decodes a fixture, refusing unknown fields so that a typo does not silently change a scenario.
func DecodeFixture(r io.Reader) (*Fixture, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode fixture: %w", err)
	}
	return &f, nil
}

// Write encodes the fixture as indented JSON.
func (f *Fixture) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Load adds the fixture's repositories and items to s.
func (f *Fixture) Load(s *Store) error {
	for _, r := range f.Repositories {
		if err := s.AddRepo(r); err != nil {
			return err
		}
	}
	// Folders first, shallow ones before deep ones, so their own timestamps win over implied parents.
	folders := slices.DeleteFunc(slices.Clone(f.Items), func(it FixtureItem) bool { return it.Type != "folder" })
	slices.SortStableFunc(folders, func(a, b FixtureItem) int {
		return strings.Count(joinPath(a.Path, a.Name), "/") - strings.Count(joinPath(b.Path, b.Name), "/")
	})
	for _, it := range folders {
		if err := s.putFolder(it); err != nil {
			return fmt.Errorf("folder %s/%s: %w", it.Repo, joinPath(it.Path, it.Name), err)
		}
	}
	for _, it := range f.Items {
		switch it.Type {
		case "folder":
			continue
		case "", "file":
		default:
			return fmt.Errorf("item %s/%s: type %q (want file or folder)", it.Repo, joinPath(it.Path, it.Name), it.Type)
		}
		spec := FileSpec{Repo: it.Repo, Path: joinPath(it.Path, it.Name), Props: it.Properties, By: it.CreatedBy,
			Created: it.Created, Modified: it.Modified, Updated: it.Updated}
		switch {
		case it.Content != nil:
			spec.Data = it.Content
		case it.Text != nil:
			spec.Data = []byte(*it.Text)
		case it.SHA256 != "":
			spec.Meta = &Checksums{SHA256: it.SHA256, SHA1: it.SHA1, MD5: it.MD5, Size: it.Size}
		}
		if spec.Data != nil && it.SHA256 != "" && ChecksumsOf(spec.Data).SHA256 != it.SHA256 {
			return fmt.Errorf("item %s/%s: sha256 %s does not match its content", it.Repo, spec.Path, it.SHA256)
		}
		if _, err := s.PutFile(spec); err != nil {
			return fmt.Errorf("item %s/%s: %w", it.Repo, spec.Path, err)
		}
	}
	return nil
}

// putFolder creates a folder with the fixture's timestamps and properties.
func (s *Store) putFolder(fi FixtureItem) error {
	full, err := CleanPath(joinPath(fi.Path, fi.Name))
	if err != nil || full == "" {
		return fmt.Errorf("%w: %q", ErrBadPath, joinPath(fi.Path, fi.Name))
	}
	by := fi.CreatedBy
	if by == "" {
		by = "admin"
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[fi.Repo]; !ok {
		return fmt.Errorf("%q: %w", fi.Repo, ErrNoRepo)
	}
	if _, ok := s.items[itemKey{fi.Repo, full}]; ok {
		return fmt.Errorf("%s/%s: listed twice", fi.Repo, full)
	}
	parent, name := splitPath(full)
	if err := s.ensureFolderLocked(fi.Repo, parent, by, now); err != nil {
		return err
	}
	s.insertLocked(&Item{Repo: fi.Repo, Path: parent, Name: name, Folder: true,
		Created: orDefault(fi.Created, now), Modified: orDefault(fi.Modified, now), Updated: orDefault(fi.Updated, now),
		CreatedBy: by, ModifiedBy: orString(fi.ModifiedBy, by), Props: cloneProps(fi.Properties)})
	return nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Snapshot returns the whole state of s as a Fixture, items in database order.
func Snapshot(s *Store, clock *Clock) *Fixture {
	f := &Fixture{Now: clock.Now(), Repositories: s.Repos(), Items: []FixtureItem{}}
	for it := range s.Items() {
		fi := FixtureItem{Repo: it.Repo, Path: it.Path, Name: it.Name, Created: it.Created, Modified: it.Modified,
			Updated: it.Updated, CreatedBy: it.CreatedBy, ModifiedBy: it.ModifiedBy, Properties: cloneProps(it.Props)}
		if it.Folder {
			fi.Type = "folder"
		} else {
			fi.Type = "file"
			fi.Size, fi.SHA1, fi.SHA256, fi.MD5 = it.Size(), it.SHA1(), it.SHA256(), it.MD5()
			fi.Content = it.blob.data
		}
		f.Items = append(f.Items, fi)
	}
	return f
}
