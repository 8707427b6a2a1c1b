package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// manifestFile is one manifest file of the inventory.
type manifestFile struct {
	Folder, Name, SHA256 string
}

// runInventory lists the manifest files of a repository, to tell afterwards which folders a run deleted.
func runInventory(args []string) error {
	fs := flag.NewFlagSet("inventory", flag.ContinueOnError)
	base := fs.String("url", "", "Artifactory base URL, http://HOST:PORT/artifactory")
	token := fs.String("token", "", "admin access token")
	repo := fs.String("repo", "docker-local", "repository")
	out := fs.String("out", "", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *token == "" || *out == "" {
		return errors.New("inventory: --url, --token and --out are required")
	}
	files, err := listManifests(*base, *token, *repo)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, m := range files {
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.Folder, m.Name, m.SHA256)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// listManifests pages through the manifest files of repo with AQL, by offset: nothing changes while it runs.
func listManifests(base, token, repo string) ([]manifestFile, error) {
	const page = 50000
	client := &http.Client{Timeout: 10 * time.Minute}
	var all []manifestFile
	for offset := 0; ; offset += page {
		q := fmt.Sprintf(`items.find({"repo":%q,"type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]})`+
			`.include("path","name","sha256").sort({"$asc":["path","name"]}).offset(%d).limit(%d)`, repo, offset, page)
		req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(base, "/")+"/api/search/aql", strings.NewReader(q))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var body struct {
			Results []struct {
				Path, Name, SHA256 string
			} `json:"results"`
			Range struct {
				Notification string `json:"notification"`
			} `json:"range"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("AQL at offset %d: HTTP %d: %v", offset, resp.StatusCode, err)
		}
		if body.Range.Notification != "" {
			return nil, fmt.Errorf("AQL at offset %d: trimmed: %s", offset, body.Range.Notification)
		}
		for _, r := range body.Results {
			all = append(all, manifestFile{Folder: r.Path, Name: r.Name, SHA256: r.SHA256})
		}
		if len(body.Results) < page {
			break
		}
	}
	slices.SortFunc(all, func(a, b manifestFile) int {
		return strings.Compare(a.Folder+"/"+a.Name, b.Folder+"/"+b.Name)
	})
	return all, nil
}

// readInventory reads a file written by runInventory.
func readInventory(path string) ([]manifestFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []manifestFile
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		out = append(out, manifestFile{Folder: parts[0], Name: parts[1], SHA256: parts[2]})
	}
	return out, nil
}

// folders returns the set of folders holding a manifest file.
func folders(files []manifestFile) map[string]bool {
	out := make(map[string]bool, len(files))
	for _, f := range files {
		out[f.Folder] = true
	}
	return out
}
