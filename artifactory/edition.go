package artifactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Editions artprune tells apart. Only whether AQL sorts changes what artprune does; the name is for logs,
// reports and doctor.
const (
	// EditionPro is a self-managed Artifactory whose AQL sorts (Pro, Enterprise, Enterprise+).
	EditionPro = "pro"
	// EditionSaaS is the JFrog cloud (a host under jfrog.io), whose AQL sorts.
	EditionSaaS = "saas"
	// EditionJCR is JFrog Container Registry: AQL refuses sort.
	EditionJCR = "jcr"
	// EditionOSS is Artifactory OSS or Community Edition: AQL refuses sort.
	EditionOSS = "oss"
	// EditionOSSOrJCR is an edition whose AQL refuses sort, for a caller that may not read the license.
	EditionOSSOrJCR = "oss-or-jcr"
)

// MaxAQLInFlight is the most AQL queries one client runs at once. Artifactory's AQL concurrency limiter lets 3 run
// in parallel by default and answers 429 to a query left waiting for 10 seconds (JFrog docs "AQL performance"), so
// artprune alone never trips it.
const MaxAQLInFlight = 3

// ServerInfo is what a client found out about its Artifactory, once.
type ServerInfo struct {
	// Version is api/system/version's "version" ("" if it could not be read).
	Version string `json:"version,omitempty"`
	// Edition is one of the Edition constants.
	Edition string `json:"edition"`
	// License is api/system/licenses' "type" ("" when the caller may not read it).
	License string `json:"license,omitempty"`
	// Sorts reports whether AQL accepts .sort(): the inventory is keyset-paged on a sort when it does, and
	// partitioned into unsorted queries when it does not.
	Sorts bool `json:"aql_sort"`
	// Admin reports whether the caller is an admin (api/system/licenses, admin only, answered 200). An admin's AQL
	// results are not filtered by permissions.
	Admin bool `json:"admin"`
	// How says how the edition was found.
	How string `json:"detected_by"`
	// licenses is what api/system/licenses answered, quoted when a listing is refused for want of an admin.
	licenses string
}

// String names the server for logs: "jcr 7.104.15 (AQL without sort; admin)".
func (s ServerInfo) String() string {
	var b strings.Builder
	b.WriteString(s.Edition)
	if s.Version != "" {
		b.WriteString(" " + s.Version)
	}
	if s.Sorts {
		b.WriteString(" (AQL sorts")
	} else {
		b.WriteString(" (AQL without sort")
	}
	if s.Admin {
		b.WriteString("; admin)")
	} else {
		b.WriteString("; not admin)")
	}
	return b.String()
}

// serverCache holds the ServerInfo of a client, found on first use.
type serverCache struct {
	mu    sync.Mutex
	info  *ServerInfo
	noted bool // the refusal of a sort was logged
	// version is the answer to api/system/version that [Connect] already read, so detection does not ask again.
	version *ServerVersion
}

// Server detects the edition of the server, once per client. Whether AQL sorts, the one thing that changes what
// artprune does, is decided by an actual sorted query (see [sortProbe]): a refusal with the OSS validator's
// message means no sort. api/system/version (JFrog's build-info takes an empty "addons" list for OSS,
// ArtifactoryVersion.isOSS) and api/system/licenses (admin only; "JCR Edition" and "OSS" are those editions'
// license types) only name the edition, and the licenses answer tells whether the caller is an admin.
//
// A failure that says nothing about the server (the sort probe failing otherwise than with that refusal, or, on a
// server whose AQL refuses sort, api/system/licenses failing otherwise than with 401 or 403) is returned and not
// cached: the next call detects again. Failing to read the version is not an error.
func (c *Client) Server(ctx context.Context) (ServerInfo, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if c.srv.info != nil {
		return *c.srv.info, nil
	}
	info, err := c.detect(ctx)
	if err != nil {
		return info, err
	}
	c.srv.info = &info
	c.log.Info("Artifactory edition", "edition", info.Edition, "version", info.Version, "aql_sort", info.Sorts,
		"admin", info.Admin, "detected_by", info.How)
	return info, nil
}

// KnownServer returns what [Client.Server] found, as a refused sort may have changed it since, without asking the
// server; false if Server has not succeeded yet.
func (c *Client) KnownServer() (ServerInfo, bool) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if c.srv.info == nil {
		return ServerInfo{}, false
	}
	return *c.srv.info, true
}

// sortProbe is the one-row sorted query that decides whether AQL sorts: the fields a user who is not an admin
// must include, and a name no Docker push writes, so that it costs one index lookup.
const sortProbe = `items.find({"name":"artprune-sort-probe"}).include("repo","path","name").sort({"$asc":["name"]}).limit(1)`

func (c *Client) detect(ctx context.Context) (ServerInfo, error) {
	info := ServerInfo{Edition: EditionPro}
	var how []string
	var v ServerVersion
	var err error
	if c.srv.version != nil {
		v = *c.srv.version
	} else {
		err = c.getJSON(ctx, "api/system/version", &v)
	}
	noAddons := false
	switch {
	case err == nil:
		info.Version = v.Version
		noAddons = v.Addons != nil && len(v.Addons) == 0
		if noAddons {
			how = append(how, "api/system/version lists no addons")
		} else {
			how = append(how, "api/system/version lists addons")
		}
	case ctx.Err() != nil:
		return info, ctx.Err()
	default:
		how = append(how, "api/system/version unreadable ("+err.Error()+")")
	}

	// Whether AQL sorts is asked of AQL itself: a proxy that strips fields from the version, or a server that
	// hides its addons from some users, must not make a sorting server look like OSS.
	_, _, err = c.aqlQuery(ctx, sortProbe, 1)
	_, refused := isSortRefusal(err)
	switch {
	case err == nil:
		info.Sorts = true
		how = append(how, "a sorted AQL query was answered")
	case refused:
		// The message itself stays out of the log: it is the expected answer here, not a refused query of the run.
		how = append(how, "AQL refused a sort (HTTP 400 from the open-source validator)")
	case ctx.Err() != nil:
		return info, ctx.Err()
	default:
		return info, fmt.Errorf("find out whether AQL sorts (a one-row sorted query): %w", err)
	}

	lic, err := c.readLicense(ctx)
	switch {
	case err == nil:
		info.Admin, info.License = lic.admin, lic.typ
		info.licenses = lic.how
		how = append(how, lic.how)
	case ctx.Err() != nil:
		return info, ctx.Err()
	case !info.Sorts:
		// Only here does the answer decide anything (whether the listing can be proven complete): a failure that
		// is not a refusal must not pass for one.
		return info, fmt.Errorf("find out whether the user is an admin (artprune lists without sort here, which needs an admin): %w", err)
	default:
		info.licenses = "api/system/licenses failed (" + err.Error() + ")"
		how = append(how, info.licenses+"; not needed where AQL sorts")
	}

	switch t := strings.ToLower(info.License); {
	case t == "jcr edition":
		info.Edition = EditionJCR
	case t == "oss" || t == "community edition for c/c++":
		info.Edition = EditionOSS
	case !info.Sorts:
		info.Edition = EditionOSSOrJCR
	}
	if info.Sorts && info.Edition != EditionPro {
		how = append(how, "the license names "+info.Edition+", but AQL sorts: listing on the sort")
	}
	if info.Sorts && noAddons {
		how = append(how, "AQL sorts although the version lists no addons: listing on the sort")
	}
	if info.Sorts {
		if u, err := url.Parse(c.base); err == nil && strings.HasSuffix(strings.ToLower(u.Hostname()), ".jfrog.io") {
			info.Edition = EditionSaaS
			how = append(how, "host under jfrog.io")
		}
	}
	info.How = strings.Join(how, "; ")
	return info, nil
}

// license is what api/system/licenses told about the caller.
type license struct {
	admin bool
	typ   string // the license type; for an HA cluster, the types of its licenses
	how   string // what the endpoint answered, for logs and refusals
}

// readLicense asks api/system/licenses, which only admins may read. It understands the answer of a single server
// ({"type":...}, JFrog REST API "License Information") and the two shapes given for an HA cluster: a list of
// licenses with their nodeId (JFrog REST API "HA License Information", sample output) and the same list under
// "licenses" (peimanja/artifactory_exporter, LicensesInfo). The caller is taken for an admin only when a license
// type comes back: an answer without one (a proxy's page, {}) proves nothing. 401 and 403 mean not an admin; any
// other failure is returned.
func (c *Client) readLicense(ctx context.Context) (license, error) {
	var lastErr error
	for attempt := 1; attempt <= c.backoff.Attempts; attempt++ {
		lic, retry, err := c.readLicenseOnce(ctx)
		if err == nil || !retry || ctx.Err() != nil {
			return lic, err
		}
		lastErr = err
		if err := sleep(ctx, c.backoff.wait(attempt, 0)); err != nil {
			return license{}, err
		}
	}
	return license{}, lastErr
}

// readLicenseOnce is one attempt of readLicense; retry says whether the answer was lost or cut short.
func (c *Client) readLicenseOnce(ctx context.Context) (lic license, retry bool, err error) {
	const rel = "api/system/licenses"
	resp, err := c.send(ctx, http.MethodGet, c.base+rel, nil)
	if err != nil {
		return license{}, retryableError(err), fmt.Errorf("GET %s: %w", rel, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		var ae *APIError
		errors.As(apiError("GET", rel, resp), &ae)
		return license{how: fmt.Sprintf("GET %s was refused (%d %s, %q): not an admin", rel, ae.Status, http.StatusText(ae.Status), ae.Message)}, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return license{}, false, apiError("GET", rel, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return license{}, true, fmt.Errorf("GET %s: %w", rel, err)
	}
	if types := licenseTypes(body); len(types) > 0 {
		t := strings.Join(types, ", ")
		return license{admin: true, typ: t, how: fmt.Sprintf("GET %s: %q", rel, t)}, false, nil
	}
	shown := strings.TrimSpace(string(body))
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	return license{how: fmt.Sprintf("GET %s answered 200 without a license type (%q): not proven an admin", rel, shown)}, false, nil
}

// licenseTypes returns the distinct non-empty license types of an api/system/licenses answer, in order.
func licenseTypes(body []byte) []string {
	type entry struct {
		Type string `json:"type"`
	}
	var list []entry
	var one struct {
		Type     string  `json:"type"`
		Licenses []entry `json:"licenses"`
	}
	if err := json.Unmarshal(body, &one); err == nil {
		list = append([]entry{{one.Type}}, one.Licenses...)
	} else if err := json.Unmarshal(body, &list); err != nil {
		return nil
	}
	var types []string
	for _, e := range list {
		if t := strings.TrimSpace(e.Type); t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return types
}

// sortRefused records that the server refused a sort: from now on this client searches without one.
func (c *Client) sortRefused(msg string) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if c.srv.info == nil {
		c.srv.info = &ServerInfo{Edition: EditionOSSOrJCR}
	}
	if c.srv.info.Sorts {
		c.srv.info.Sorts = false
		if c.srv.info.Edition == EditionPro || c.srv.info.Edition == EditionSaaS {
			c.srv.info.Edition = EditionOSSOrJCR
		}
		c.srv.info.How += "; AQL refused a sort: " + strings.TrimSpace(msg)
	}
	if !c.srv.noted {
		c.srv.noted = true
		c.log.Warn("Artifactory refuses AQL sort: listing in unsorted partitions from now on", "edition", c.srv.info.Edition, "message", strings.TrimSpace(msg))
	}
}

// isSortRefusal reports whether err is the OSS validator's refusal of a sort (a plain-text 400).
func isSortRefusal(err error) (string, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "Sorting is not supported") {
		return ae.Message, true
	}
	return "", false
}

// getJSON GETs base+rel and decodes its JSON answer (at most 1 MiB) into v.
func (c *Client) getJSON(ctx context.Context, rel string, v any) error {
	resp, err := c.send(ctx, http.MethodGet, c.base+rel, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", rel, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError("GET", rel, resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", rel, err)
	}
	return nil
}
