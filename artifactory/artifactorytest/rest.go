package artifactorytest

import (
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// maxDeployBytes bounds a single deploy, so that a runaway client cannot exhaust the emulator's memory.
const maxDeployBytes = 1 << 30

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "system/ping":
		// Artifactory answers ping without authentication.
		writeText(w, http.StatusOK, "OK")
		return
	}
	u, ok := e.requireUser(w, r)
	if !ok {
		return
	}
	switch {
	case rest == "system/version":
		writeJSON(w, http.StatusOK, map[string]any{"version": Version, "revision": "80415900", "addons": e.cfg.edition.versionAddons(), "license": "emulator"})
	case rest == "system/licenses":
		e.serveLicense(w, r, u)
	case rest == "repositories":
		e.serveRepoList(w, r, u)
	case strings.HasPrefix(rest, "repositories/"):
		e.serveRepoConfig(w, r, u, strings.TrimPrefix(rest, "repositories/"))
	case rest == "search/aql":
		e.serveAQL(w, r, u)
	case strings.HasPrefix(rest, "storage/"):
		e.serveStorage(w, r, u, strings.TrimPrefix(rest, "storage/"))
	case rest == "system/configuration":
		e.serveSystemConfiguration(w, r, u)
	case strings.HasPrefix(rest, "trash/"):
		e.serveTrash(w, r, u, strings.TrimPrefix(rest, "trash/"))
	default:
		writeErrors(w, http.StatusNotFound, "Not Found")
	}
}

// repoListEntry is one element of GET api/repositories.
type repoListEntry struct {
	Key         string `json:"key"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url"`
	PackageType string `json:"packageType"`
}

var packageTypeNames = map[string]string{PackageDocker: "Docker", PackageGeneric: "Generic"}

func (e *Emulator) serveRepoList(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	typ := strings.ToLower(r.URL.Query().Get("type"))
	pkg := strings.ToLower(r.URL.Query().Get("packageType"))
	out := []repoListEntry{}
	for _, repo := range e.store.Repos() {
		if (typ != "" && typ != repo.Type) || (pkg != "" && pkg != repo.PackageType) || !u.seesRepo(repo.Key) {
			continue
		}
		out = append(out, repoListEntry{
			Key: repo.Key, Type: strings.ToUpper(repo.Type), Description: repo.Description,
			URL: baseURL(r) + "/artifactory/" + repo.Key, PackageType: packageTypeNames[repo.PackageType],
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) serveRepoConfig(w http.ResponseWriter, r *http.Request, u *User, key string) {
	repo, ok := e.store.Repo(strings.Trim(key, "/"))
	if !ok || !u.seesRepo(repo.Key) {
		writeErrors(w, http.StatusBadRequest, "Bad Request")
		return
	}
	cfg := map[string]any{
		"key": repo.Key, "rclass": repo.Type, "packageType": repo.PackageType, "description": repo.Description,
		"repoLayoutRef": "simple-default",
	}
	if repo.PackageType == PackageDocker {
		cfg["dockerApiVersion"] = "V2"
		cfg["maxUniqueTags"] = 0
		cfg["blockPushingSchema1"] = true
	}
	writeJSON(w, http.StatusOK, cfg)
}

// splitRepoPath splits "repo/a/b;k=v" into the repository, the clean path and the matrix parameters.
func splitRepoPath(rest string) (repo, full string, matrix map[string][]string, err error) {
	repo, p, _ := strings.Cut(rest, "/")
	if i := strings.IndexByte(repo, ';'); i >= 0 {
		p = repo[i:] + p
		repo = repo[:i]
	}
	if i := strings.IndexByte(p, ';'); i >= 0 {
		matrix, err = parseMatrix(p[i+1:])
		if err != nil {
			return "", "", nil, err
		}
		p = p[:i]
	}
	full, err = CleanPath(p)
	return repo, full, matrix, err
}

// parseMatrix parses Artifactory matrix parameters "k=v;k2=v2,v3" (values may be comma lists).
func parseMatrix(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for kv := range strings.SplitSeq(s, ";") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.PathUnescape(k)
		if err != nil {
			return nil, err
		}
		for one := range strings.SplitSeq(v, ",") {
			one, err := url.PathUnescape(one)
			if err != nil {
				return nil, err
			}
			out[k] = append(out[k], one)
		}
	}
	return out, nil
}

func (e *Emulator) serveRepoPath(w http.ResponseWriter, r *http.Request, rest string) {
	u, ok := e.requireUser(w, r)
	if !ok {
		return
	}
	repoKey, full, matrix, err := splitRepoPath(rest)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Bad request: "+err.Error())
		return
	}
	repo, ok := e.store.Repo(repoKey)
	if !ok || !u.seesRepo(repoKey) {
		writeErrors(w, http.StatusNotFound, "Repository '"+repoKey+"' not found")
		return
	}
	hidden := u.hides(repo.Key, full)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !u.can(PermRead) || hidden {
			writeErrors(w, http.StatusForbidden, "Forbidden")
			return
		}
		e.serveDownload(w, r, u, repo, full)
	case http.MethodPut:
		if hidden {
			writeErrors(w, http.StatusForbidden, fmt.Sprintf("Not enough permissions to deploy artifact '%s:%s' (user: '%s' needs DEPLOY permission).", repo.Key, full, u.Name))
			return
		}
		e.serveDeploy(w, r, u, repo, full, matrix)
	case http.MethodDelete:
		if hidden {
			writeErrors(w, http.StatusForbidden, fmt.Sprintf("Not enough permissions to delete/overwrite artifact '%s:%s' (user: '%s' needs DELETE permission).", repo.Key, full, u.Name))
			return
		}
		e.serveDelete(w, u, repo, full)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func (e *Emulator) serveDownload(w http.ResponseWriter, r *http.Request, u *User, repo Repo, full string) {
	var it *Item
	if full != "" {
		var ok bool
		if it, ok = e.store.Get(repo.Key, full); !ok {
			writeErrors(w, http.StatusNotFound, "File not found.")
			return
		}
	}
	if it == nil || it.Folder {
		e.serveListing(w, r, u, repo, full)
		return
	}
	data, err := e.store.Content(it)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(it.Name))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Last-Modified", it.Modified.UTC().Format(http.TimeFormat))
	h.Set("ETag", it.SHA1())
	h.Set("X-Checksum-Sha1", it.SHA1())
	h.Set("X-Checksum-Sha256", it.SHA256())
	h.Set("X-Checksum-Md5", it.MD5())
	h.Set("X-Artifactory-Filename", it.Name)
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		e.recordDownload(r, u, repo.Key, full)
		_, _ = w.Write(data)
	}
}

func contentType(name string) string {
	if strings.HasSuffix(name, ".json") {
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// serveListing answers a GET of a folder with a simple HTML index, as Artifactory's browser view does.
func (e *Emulator) serveListing(w http.ResponseWriter, r *http.Request, u *User, repo Repo, full string) {
	kids, err := e.store.Children(repo.Key, full)
	if err != nil {
		writeErrors(w, http.StatusNotFound, "File not found.")
		return
	}
	kids = u.visible(kids)
	var b strings.Builder
	title := html.EscapeString(repo.Key + "/" + full)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head><meta name=\"robots\" content=\"noindex\" />\n<title>Index of %s</title>\n</head>\n<body>\n<h1>Index of %s</h1>\n<pre>Name</pre><hr/>\n<pre>", title, title)
	for _, k := range kids {
		name := k.Name
		if k.Folder {
			name += "/"
		}
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n", html.EscapeString(url.PathEscape(k.Name)), html.EscapeString(name))
	}
	b.WriteString("</pre>\n<hr/><address style=\"font-size:small;\">Artifactory Emulator</address></body></html>")
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, b.String())
	}
}

func (e *Emulator) serveDeploy(w http.ResponseWriter, r *http.Request, u *User, repo Repo, full string, matrix map[string][]string) {
	if !u.can(PermDeploy) {
		writeErrors(w, http.StatusForbidden, fmt.Sprintf("Not enough permissions to deploy artifact '%s:%s' (user: '%s' needs DEPLOY permission).", repo.Key, full, u.Name))
		return
	}
	if repo.Type != RepoLocal {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Repository %s is a %s repository: deploy to a local repository.", repo.Key, repo.Type))
		return
	}
	if full == "" {
		writeErrors(w, http.StatusBadRequest, "Bad request: a path is required")
		return
	}
	if strings.HasSuffix(r.URL.Path, "/") {
		if err := e.store.MkdirAll(repo.Key, full, u.Name); err != nil {
			writeStoreError(w, err)
			return
		}
		it, _ := e.store.Get(repo.Key, full)
		writeJSON(w, http.StatusCreated, e.itemInfo(r, u, it, false))
		return
	}
	spec := FileSpec{Repo: repo.Key, Path: full, Props: matrix, By: u.Name}
	if strings.EqualFold(r.Header.Get("X-Checksum-Deploy"), "true") {
		sha := strings.ToLower(r.Header.Get("X-Checksum-Sha256"))
		if sha == "" || !e.store.HasBlob(sha) {
			writeErrors(w, http.StatusNotFound, "Checksum deploy failed: no binary with the given checksum exists. Deploy the content.")
			return
		}
		spec.Blob = sha
	} else {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxDeployBytes+1))
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "Failed to read the request body: "+err.Error())
			return
		}
		if len(data) > maxDeployBytes {
			writeErrors(w, http.StatusRequestEntityTooLarge, "The emulator accepts deploys up to 1 GiB.")
			return
		}
		sums := ChecksumsOf(data)
		for hdr, want := range map[string]string{"X-Checksum-Sha256": sums.SHA256, "X-Checksum-Sha1": sums.SHA1, "X-Checksum-Md5": sums.MD5} {
			if got := r.Header.Get(hdr); got != "" && !strings.EqualFold(got, want) {
				writeErrors(w, http.StatusConflict, fmt.Sprintf("Checksum policy rejected the deploy: %s %s does not match the content (%s).", hdr, got, want))
				return
			}
		}
		spec.Data = data
	}
	it, err := e.store.PutFile(spec)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e.itemInfo(r, u, it, false))
}

func (e *Emulator) serveDelete(w http.ResponseWriter, u *User, repo Repo, full string) {
	if !u.can(PermDelete) {
		writeErrors(w, http.StatusForbidden, fmt.Sprintf("Not enough permissions to delete/overwrite artifact '%s:%s' (user: '%s' needs DELETE permission).", repo.Key, full, u.Name))
		return
	}
	if _, err := e.store.DeleteAs(repo.Key, full, u.Name); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeErrors(w, http.StatusNotFound, fmt.Sprintf("Could not locate artifact '%s:%s' (Nothing to delete).", repo.Key, full))
			return
		}
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeErrors(w, http.StatusNotFound, "File not found.")
	case errors.Is(err, ErrBadPath), errors.Is(err, ErrNotAFolder), errors.Is(err, ErrIsFolder):
		writeErrors(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNoRepo):
		writeErrors(w, http.StatusNotFound, err.Error())
	default:
		writeErrors(w, http.StatusInternalServerError, err.Error())
	}
}

// itemInfo is the JSON of api/storage for a file or a folder (and of a deploy's answer).
func (e *Emulator) itemInfo(r *http.Request, u *User, it *Item, withChildren bool) map[string]any {
	base := baseURL(r) + "/artifactory"
	rel := "/" + it.FullPath()
	if it.Path == "." && it.Name == "" {
		rel = "/"
	}
	info := map[string]any{
		"repo": it.Repo, "path": rel,
		"created": e.formatTime(it.Created), "createdBy": it.CreatedBy,
		"lastModified": e.formatTime(it.Modified), "modifiedBy": it.ModifiedBy,
		"lastUpdated": e.formatTime(it.Updated),
		"uri":         base + "/api/storage/" + it.Repo + strings.TrimSuffix(rel, "/"),
	}
	if it.Folder {
		if withChildren {
			kids, _ := e.store.Children(it.Repo, it.FullPath())
			info["children"] = childrenJSON(u.visible(kids))
		}
		return info
	}
	sums := map[string]string{"sha1": it.SHA1(), "md5": it.MD5(), "sha256": it.SHA256()}
	info["downloadUri"] = base + "/" + it.Repo + rel
	info["mimeType"] = contentType(it.Name)
	info["size"] = strconv.FormatInt(it.Size(), 10)
	info["checksums"] = sums
	info["originalChecksums"] = sums
	return info
}

type childJSON struct {
	URI    string `json:"uri"`
	Folder bool   `json:"folder"`
}

func childrenJSON(kids []*Item) []childJSON {
	out := make([]childJSON, 0, len(kids))
	for _, k := range kids {
		out = append(out, childJSON{URI: "/" + k.Name, Folder: k.Folder})
	}
	return out
}

func (e *Emulator) serveStorage(w http.ResponseWriter, r *http.Request, u *User, rest string) {
	repoKey, full, _, err := splitRepoPath(rest)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Bad request: "+err.Error())
		return
	}
	repo, ok := e.store.Repo(repoKey)
	if !ok || !u.seesRepo(repoKey) {
		writeErrors(w, http.StatusNotFound, "Unable to find item")
		return
	}
	_, wantProps := r.URL.Query()["properties"]
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !u.can(PermRead) || u.hides(repo.Key, full) {
			writeErrors(w, http.StatusForbidden, "Forbidden")
			return
		}
	case http.MethodPut, http.MethodDelete:
		if !wantProps {
			writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		if e.cfg.edition.isOSS() { // Set and Delete Item Properties require Pro: see msgProOnly
			writeErrors(w, http.StatusBadRequest, msgProOnly)
			return
		}
		if !u.can(PermDeploy) || u.hides(repo.Key, full) {
			writeErrors(w, http.StatusForbidden, fmt.Sprintf("Not enough permissions to annotate '%s:%s' (user: '%s' needs ANNOTATE permission).", repo.Key, full, u.Name))
			return
		}
		e.serveSetProps(w, r, repo, full)
		return
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if _, wantStats := r.URL.Query()["stats"]; wantStats {
		e.serveStats(w, r, repo, full)
		return
	}
	if full == "" {
		kids, _ := e.store.Children(repo.Key, "")
		root := map[string]any{"repo": repo.Key, "path": "/", "children": childrenJSON(u.visible(kids)),
			"uri": baseURL(r) + "/artifactory/api/storage/" + repo.Key}
		if wantProps {
			writeErrors(w, http.StatusNotFound, "No properties could be found.")
			return
		}
		writeJSON(w, http.StatusOK, root)
		return
	}
	it, ok := e.store.Get(repo.Key, full)
	if !ok {
		writeErrors(w, http.StatusNotFound, "Unable to find item")
		return
	}
	if wantProps {
		if len(it.Props) == 0 {
			writeErrors(w, http.StatusNotFound, "No properties could be found.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"properties": it.Props, "uri": baseURL(r) + "/artifactory/api/storage/" + repo.Key + "/" + full})
		return
	}
	writeJSON(w, http.StatusOK, e.itemInfo(r, u, it, true))
}

// serveSetProps implements PUT api/storage/<path>?properties=k=v;k2=v2 and DELETE ...?properties=k,k2.
func (e *Emulator) serveSetProps(w http.ResponseWriter, r *http.Request, repo Repo, full string) {
	it, ok := e.store.Get(repo.Key, full)
	if !ok {
		writeErrors(w, http.StatusNotFound, "Unable to find item")
		return
	}
	raw := r.URL.Query().Get("properties")
	if r.Method == http.MethodDelete {
		keys := strings.Split(raw, ",")
		if it.Folder && r.URL.Query().Get("recursive") != "0" {
			// "When a folder is used property removal is recursive by default" (JFrog REST API, Delete Item Properties).
			if err := e.store.DeletePropsRecursive(repo.Key, full, keys); err != nil {
				writeStoreError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		props := cloneProps(it.Props)
		for _, k := range keys {
			delete(props, k)
		}
		if err := e.store.SetProps(repo.Key, full, props, false); err != nil {
			writeStoreError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	props, err := parseMatrix(raw)
	if err != nil || len(props) == 0 {
		writeErrors(w, http.StatusBadRequest, "Bad request: properties must be given as key=value[;key=value]")
		return
	}
	if err := e.store.SetProps(repo.Key, full, props, true); err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
