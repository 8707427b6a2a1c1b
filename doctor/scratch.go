package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// startProbe checks that env.Scratch may take the scratch checks' pushes (not the --repo, a local Docker
// repository, empty but for leftover probes) and names a new probe image in it. It returns the pusher, a cleanup
// to defer, which deletes the probe image and takes it out of the Trash Can and turns an OK result into a warning
// when that fails, or, when the repository is refused, the result saying why (nothing was written then).
func startProbe(ctx context.Context, env Env) (pusher, func(*Result), *Result) {
	c := env.Client
	if strings.EqualFold(env.Scratch, env.Repo) {
		return pusher{}, nil, &Result{Status: StatusFail, Found: "--scratch-repo " + env.Scratch + " is the --repo itself",
			Artprune: "the scratch checks push and delete images: give them an empty local Docker repository of their own"}
	}
	if err := c.CheckDockerLocal(ctx, env.Scratch); err != nil {
		return pusher{}, nil, &Result{Status: StatusFail, Found: err.Error(), Artprune: "the scratch repository must be a local Docker repository"}
	}
	if other, err := scratchHolds(ctx, c, env.Scratch); err != nil || other != "" {
		found := "--scratch-repo " + env.Scratch + " holds " + other + ", which the doctor did not push"
		if err != nil {
			found = "could not check that --scratch-repo " + env.Scratch + " is empty: " + err.Error()
		}
		return pusher{}, nil, &Result{Status: StatusFail, Found: found,
			Artprune: "the scratch checks push and delete images: give them an empty local Docker repository of their own " +
				"(leftover " + probePrefix + "* images are fine)"}
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	image := probePrefix + hex.EncodeToString(suffix)
	cleanup := func(res *Result) {
		// Clean up whatever was written, with a context of its own so that cancellation still cleans. The deletes
		// put the probe in the Trash Can; take it out too where the API allows (Pro and above, an admin). A
		// failure is a warning: the check's finding holds, but the probe image stays behind.
		cctx := context.WithoutCancel(ctx)
		var left []string
		if err := c.DeleteFolder(cctx, env.Scratch, image); err != nil && !errors.Is(err, prune.ErrNotFound) {
			left = append(left, fmt.Sprintf("deleting the probe image %s/%s failed (%v): delete it by hand", env.Scratch, image, err))
		}
		if err := c.DeleteFromTrash(cctx, env.Scratch, image); err != nil && !errors.Is(err, prune.ErrNotFound) &&
			!errors.Is(err, artifactory.ErrTrashAPIUnavailable) {
			left = append(left, fmt.Sprintf("taking the probe image out of the Trash Can failed (%v): it stays there until its retention ends", err))
		}
		if len(left) > 0 {
			if res.Status == StatusOK {
				res.Status = StatusWarn
			}
			res.Found += "; cleanup: " + strings.Join(left, "; ")
		}
	}
	return pusher{c: c, repo: env.Scratch, image: image}, cleanup, nil
}

// checkScratchLayout pushes, through the Docker API of env.Scratch, a small image by digest, an index of it by
// tag, and the image again by the same tag (what Docker's containerd image store does), plus a second image by
// digest only; then it checks what artprune relies on: the layout (digest folders, the tag folder's files), that
// a manifest file's checksum and docker.manifest.digest property are its digest, that artprune's inventory lists
// every file, and that deleting a digest folder answers success, then 404 (counted as already gone), leaving the
// rest. It removes its image at the end.
func checkScratchLayout(ctx context.Context, env Env) (res Result) {
	p, cleanup, refused := startProbe(ctx, env)
	if refused != nil {
		return *refused
	}
	defer cleanup(&res)
	c, image := p.c, p.image

	platform, err := p.pushImage(ctx, "")
	if err != nil {
		return pushFailed(err)
	}
	index, err := p.pushIndex(ctx, "both", platform)
	if err != nil {
		return pushFailed(err)
	}
	if _, err := p.putManifest(ctx, "both", platform.mediaType, platform.body); err != nil {
		return pushFailed(fmt.Errorf("second push of tag both, as the platform manifest: %w", err))
	}
	dangling, err := p.pushImage(ctx, "")
	if err != nil {
		return pushFailed(err)
	}

	// artprune's inventory sees every manifest file, with its digest as checksum.
	listed := map[string]string{}
	err = c.Manifests(ctx, env.Scratch, func(m prune.ManifestFile) error {
		if strings.HasPrefix(m.Path, image+"/") {
			listed[strings.TrimPrefix(m.Path, image+"/")+"/"+m.Name] = m.SHA256
		}
		return nil
	})
	if err != nil {
		return Result{Status: StatusFail, Found: "listing the scratch repository: " + err.Error(), Artprune: "deletes nothing where it cannot list completely"}
	}
	want := map[string]string{
		"sha256:" + platform.hex + "/" + prune.ManifestName: platform.hex,
		"sha256:" + dangling.hex + "/" + prune.ManifestName: dangling.hex,
		"both/" + prune.ListManifestName:                    index.hex,
	}
	var problems []string
	for f, sum := range want {
		if got, ok := listed[f]; !ok {
			problems = append(problems, f+" is not listed")
		} else if got != sum {
			problems = append(problems, fmt.Sprintf("%s has checksum %s, not its digest %s", f, got, sum))
		}
	}
	both := false
	if got, ok := listed["both/"+prune.ManifestName]; ok {
		both = true
		if got != platform.hex {
			problems = append(problems, "both/manifest.json is not the platform manifest")
		}
	}
	if prop, err := p.property(ctx, "sha256:"+platform.hex+"/"+prune.ManifestName, "docker.manifest.digest"); err != nil {
		problems = append(problems, "reading docker.manifest.digest: "+err.Error())
	} else if prop != "sha256:"+platform.hex {
		problems = append(problems, fmt.Sprintf("docker.manifest.digest is %q, want sha256:%s", prop, platform.hex))
	}

	// Delete semantics: the folder goes, a second delete is "already gone", the rest stays.
	folder := image + "/sha256:" + dangling.hex
	if err := c.DeleteFolder(ctx, env.Scratch, folder); err != nil {
		problems = append(problems, "deleting "+folder+": "+err.Error())
	} else if err := c.DeleteFolder(ctx, env.Scratch, folder); !errors.Is(err, prune.ErrNotFound) {
		problems = append(problems, fmt.Sprintf("deleting %s again answered %v, want 404", folder, err))
	}
	after := 0
	_ = c.Manifests(ctx, env.Scratch, func(m prune.ManifestFile) error {
		if strings.HasPrefix(m.Path, image+"/") {
			after++
			if m.Path == folder {
				problems = append(problems, folder+" is still listed after its deletion")
			}
		}
		return nil
	})
	if after != len(listed)-1 {
		problems = append(problems, fmt.Sprintf("%d manifest files left after one deletion, want %d", after, len(listed)-1))
	}

	layout := "the tag folder holds only list.manifest.json (the platform push replaced nothing)"
	if both {
		layout = "the tag folder holds both list.manifest.json and manifest.json (containerd-store layout)"
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return Result{Status: StatusFail, Found: layout + "; " + strings.Join(problems, "; "),
			Artprune: "relies on these; report this server's behaviour"}
	}
	return Result{Status: StatusOK,
		Found: "pushed through the Docker API of " + env.Scratch + ": digest folders as expected, " + layout +
			", checksums and docker.manifest.digest are the digests, a deleted digest folder answers 404 the second time",
		Artprune: "treats every manifest file of a tag folder as a root, deletes digest folders with one DELETE each, counts 404 as already gone"}
}

// probePrefix starts the name of every image the scratch checks push.
const probePrefix = "artprune-doctor-probe-"

// scratchHolds returns an item of repo that is not below a leftover probe image ("" if none): the scratch
// repository must hold nothing else. A listing that is trimmed or too long to read counts as holding others.
func scratchHolds(ctx context.Context, c *artifactory.Client, repo string) (string, error) {
	const most = 1000
	rows, trimmed, err := c.AQL(ctx, fmt.Sprintf(`items.find({"repo":%q,"type":"any"}).include("repo","path","name","type").limit(%d)`, repo, most))
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		top, _, _ := strings.Cut(r.Path, "/")
		if r.Path == "." {
			top = r.Name
		}
		if top != "." && top != "" && !strings.HasPrefix(top, probePrefix) {
			return strings.TrimPrefix(r.Path+"/", "./") + r.Name, nil
		}
	}
	if trimmed || len(rows) >= most {
		return fmt.Sprintf("at least %d items", len(rows)), nil
	}
	return "", nil
}

func pushFailed(err error) Result {
	return Result{Status: StatusFail, Found: "pushing through the Docker API failed: " + err.Error(),
		Artprune: "needs nothing pushed itself, but this check cannot confirm the layout (the user needs Deploy and Delete on the scratch repository)"}
}

// pusher pushes small documents through Artifactory's Docker API (api/docker/<repo>/v2/...).
type pusher struct {
	c     *artifactory.Client
	repo  string
	image string
}

type pushed struct {
	hex, mediaType string
	body           []byte
	size           int
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func (p pusher) v2(rest string) string { return "api/docker/" + p.repo + "/v2/" + p.image + "/" + rest }

// pushBlob uploads data monolithically (POST with ?digest=), or through an upload session when the server asks.
func (p pusher) pushBlob(ctx context.Context, data []byte) (string, error) {
	dg := "sha256:" + sum(data)
	hdr := map[string]string{"Content-Type": "application/octet-stream"}
	resp, err := p.c.Request(ctx, http.MethodPost, p.v2("blobs/uploads/?digest="+url.QueryEscape(dg)), data, hdr)
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return dg, nil
	case http.StatusAccepted:
	default:
		return "", fmt.Errorf("blob upload: HTTP %d", resp.StatusCode)
	}
	rel, err := p.rel(loc)
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(rel, "?") {
		sep = "&"
	}
	resp, err = p.c.Request(ctx, http.MethodPut, rel+sep+"digest="+url.QueryEscape(dg), data, hdr)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("blob upload PUT: HTTP %d", resp.StatusCode)
	}
	return dg, nil
}

// rel turns an upload Location into a path relative to the Artifactory base URL. It accepts only an upload of
// this image in this repository, in either of the forms Artifactory answers (/v2/<repo>/<image>/blobs/uploads/...
// or .../api/docker/<repo>/v2/<image>/blobs/uploads/...), and no "." or ".." segment: the Location comes from the
// server, and the doctor sends its credentials and data to it.
func (p pusher) rel(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("upload Location %q: %w", loc, err)
	}
	for _, path := range []string{u.Path, u.EscapedPath()} {
		for seg := range strings.SplitSeq(path, "/") {
			if seg == ".." || seg == "." || strings.Contains(strings.ToLower(seg), "%2e%2e") {
				return "", fmt.Errorf("upload Location %q has a %q segment", loc, seg)
			}
		}
	}
	var rest string
	switch path := u.Path; {
	case strings.HasPrefix(path, "/v2/"+p.repo+"/"):
		rest = strings.TrimPrefix(path, "/v2/"+p.repo+"/")
	case strings.Contains(path, "/api/docker/"+p.repo+"/v2/"):
		_, rest, _ = strings.Cut(path, "/api/docker/"+p.repo+"/v2/")
	default:
		return "", fmt.Errorf("upload Location %q is neither /v2/%s/... nor .../api/docker/%s/v2/...", loc, p.repo, p.repo)
	}
	if want := p.image + "/blobs/uploads/"; !strings.HasPrefix(rest, want) || len(rest) == len(want) {
		return "", fmt.Errorf("upload Location %q is not an upload of %s/%s (want .../%s<id>)", loc, p.repo, p.image, want)
	}
	rel := "api/docker/" + p.repo + "/v2/" + rest
	if u.RawQuery != "" {
		rel += "?" + u.RawQuery
	}
	return rel, nil
}

func (p pusher) putManifest(ctx context.Context, ref, mediaType string, body []byte) (string, error) {
	resp, err := p.c.Request(ctx, http.MethodPut, p.v2("manifests/"+ref), body, map[string]string{"Content-Type": mediaType})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("manifest PUT %s: HTTP %d %s", ref, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return resp.Header.Get("Docker-Content-Digest"), nil
}

type descriptor struct {
	MediaType string            `json:"mediaType"`
	Digest    string            `json:"digest"`
	Size      int               `json:"size"`
	Platform  map[string]string `json:"platform,omitempty"`
}

// pushImage pushes a one-layer OCI image with random content by digest (or by tag, if given).
func (p pusher) pushImage(ctx context.Context, tag string) (pushed, error) {
	layer := make([]byte, 64)
	_, _ = rand.Read(layer)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + sum(layer) + `"]}}`)
	var descs []descriptor
	for _, b := range []struct {
		data []byte
		mt   string
	}{{cfg, "application/vnd.oci.image.config.v1+json"}, {layer, "application/vnd.oci.image.layer.v1.tar"}} {
		dg, err := p.pushBlob(ctx, b.data)
		if err != nil {
			return pushed{}, err
		}
		descs = append(descs, descriptor{MediaType: b.mt, Digest: dg, Size: len(b.data)})
	}
	body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": descs[0], "layers": descs[1:]})
	m := pushed{hex: sum(body), mediaType: "application/vnd.oci.image.manifest.v1+json", body: body, size: len(body)}
	ref := "sha256:" + m.hex
	if tag != "" {
		ref = tag
	}
	if _, err := p.putManifest(ctx, ref, m.mediaType, body); err != nil {
		return pushed{}, err
	}
	return m, nil
}

// pushIndex pushes an OCI index of children by tag.
func (p pusher) pushIndex(ctx context.Context, tag string, children ...pushed) (pushed, error) {
	var descs []descriptor
	for _, c := range children {
		descs = append(descs, descriptor{MediaType: c.mediaType, Digest: "sha256:" + c.hex, Size: c.size,
			Platform: map[string]string{"os": "linux", "architecture": "amd64"}})
	}
	body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs})
	idx := pushed{hex: sum(body), mediaType: "application/vnd.oci.image.index.v1+json", body: body, size: len(body)}
	if _, err := p.putManifest(ctx, tag, idx.mediaType, body); err != nil {
		return pushed{}, err
	}
	return idx, nil
}

// property reads one property of a file of the image (GET api/storage/...?properties=key).
func (p pusher) property(ctx context.Context, rel, key string) (string, error) {
	resp, err := p.c.Request(ctx, http.MethodGet, "api/storage/"+p.repo+"/"+p.image+"/"+rel+"?properties="+url.QueryEscape(key), nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var body struct {
		Properties map[string][]string `json:"properties"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", err
	}
	if v := body.Properties[key]; len(v) > 0 {
		return v[0], nil
	}
	return "", nil
}
