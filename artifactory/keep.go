package artifactory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// KeepSource is a [prune.Source] that marks the manifest files protected by a keep property, for the planner's
// Options.KeepProperty. AQL cannot sort or page on properties, so the inventory cannot include them; KeepSource
// asks, before each inventory, a second paged query for every item of the repository (file or folder) carrying
// the property, and gives the property to every listed manifest file whose folder is such an item, lies below
// one, or holds one (a folder is deleted with everything below it, so a protected file anywhere inside a digest
// folder protects the folder). The planner then keeps those folders and everything they reference.
//
// A failed or incomplete protection query fails the inventory, and so the repository: nothing is deleted. A
// property set after the query is not seen by the run: set it before, or let the grace period cover the moment.
type KeepSource struct {
	*Client
	// Property is "key=value" (that value) or "key" (any value), as prune.Options.KeepProperty.
	Property string
}

// keepSpec parses a keep property.
func keepSpec(prop string) (key, value string, anyValue bool, err error) {
	key, value, hasValue := strings.Cut(prop, "=")
	if key == "" {
		return "", "", false, fmt.Errorf("keep property %q: empty key", prop)
	}
	return key, value, !hasValue, nil
}

// Manifests implements prune.Source.
func (k KeepSource) Manifests(ctx context.Context, repo string, fn func(prune.ManifestFile) error) error {
	if k.Property == "" {
		return k.Client.Manifests(ctx, repo, fn)
	}
	key, value, anyValue, err := keepSpec(k.Property)
	if err != nil {
		return err
	}
	prot, err := k.Client.ProtectedPaths(ctx, repo, k.Property)
	if err != nil {
		return err
	}
	if len(prot) == 0 {
		return k.Client.Manifests(ctx, repo, fn)
	}
	// Every protected path and its ancestors: a manifest folder among them holds a protected item (or is one).
	holders := map[string]bool{}
	for p := range prot {
		for q := p; q != "" && q != "."; q = parentPath(q) {
			holders[q] = true
		}
	}
	if anyValue {
		value = "*"
	}
	return k.Client.Manifests(ctx, repo, func(f prune.ManifestFile) error {
		covered := holders[f.Path]
		for q := f.Path; !covered && q != "" && q != "."; q = parentPath(q) {
			covered = prot[q]
		}
		if covered {
			props := make(map[string][]string, len(f.Properties)+1)
			for pk, pv := range f.Properties {
				props[pk] = pv
			}
			props[key] = append(props[key], value)
			f.Properties = props
		}
		return fn(f)
	})
}

// ManifestsChangedSince implements prune.Source (unchanged: the re-check compares checksums and times).
func (k KeepSource) ManifestsChangedSince(ctx context.Context, repo string, since time.Time, fn func(prune.ManifestFile) error) error {
	return k.Client.ManifestsChangedSince(ctx, repo, since, fn)
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// ProtectedPaths returns the paths (relative to repo) of every file's folder and every folder of repo that carries
// the keep property prop ("key=value" or "key"), listed with the same paging and completeness checks as the
// inventory.
func (c *Client) ProtectedPaths(ctx context.Context, repo, prop string) (map[string]bool, error) {
	key, value, anyValue, err := keepSpec(prop)
	if err != nil {
		return nil, err
	}
	cond := jsonString(value)
	if anyValue {
		cond = `{"$match":"*"}`
	}
	criteria := fmt.Sprintf(`{"repo":%s,"type":"any",%s:%s}`, jsonString(repo), jsonString("@"+key), cond)
	out := map[string]bool{}
	err = c.Search(ctx, Query{Criteria: criteria, ConfirmEnd: true}, func(r Row) error {
		if r.Repo != repo {
			return fmt.Errorf("got %s/%s from repository %q: %w", r.Path, r.Name, r.Repo, prune.ErrIncomplete)
		}
		if r.Type == "folder" {
			out[joinRel(r.Path, r.Name)] = true
		} else {
			out[joinRel(r.Path, "")] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the items of repository %s protected by %s: %w", repo, prop, err)
	}
	return out, nil
}

// joinRel joins an AQL path ("." for the root) and a name.
func joinRel(p, name string) string {
	if p == "." || p == "" {
		return name
	}
	if name == "" {
		return p
	}
	return p + "/" + name
}
