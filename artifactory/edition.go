package artifactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// Server detects the edition of the server, once per client: api/system/version (JFrog's build-info takes an
// empty "addons" list for OSS, ArtifactoryVersion.isOSS) and api/system/licenses (admin only; "JCR Edition" and
// "OSS" are those editions' license types). A server that refuses a sort later is taken for OSS or JCR from then
// on (see [Client.Search]). Failing to read the version is not an error: the first refusal decides.
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

func (c *Client) detect(ctx context.Context) (ServerInfo, error) {
	info := ServerInfo{Sorts: true, Edition: EditionPro}
	var how []string
	var v ServerVersion
	var err error
	if c.srv.version != nil {
		v = *c.srv.version
	} else {
		err = c.getJSON(ctx, "api/system/version", &v)
	}
	switch {
	case err == nil:
		info.Version = v.Version
		if v.Addons != nil && len(v.Addons) == 0 {
			info.Sorts, info.Edition = false, EditionOSSOrJCR
			how = append(how, "api/system/version lists no addons")
		} else {
			how = append(how, "api/system/version lists addons")
		}
	case ctx.Err() != nil:
		return info, ctx.Err()
	default:
		how = append(how, "api/system/version unreadable ("+err.Error()+")")
	}
	var lic struct {
		Type string `json:"type"`
	}
	switch err := c.getJSON(ctx, "api/system/licenses", &lic); {
	case err == nil:
		info.Admin, info.License = true, lic.Type
		how = append(how, fmt.Sprintf("api/system/licenses: %q", lic.Type))
		switch strings.ToLower(lic.Type) {
		case "jcr edition":
			info.Sorts, info.Edition = false, EditionJCR
		case "oss", "community edition for c/c++":
			info.Sorts, info.Edition = false, EditionOSS
		}
	case ctx.Err() != nil:
		return info, ctx.Err()
	default:
		how = append(how, "api/system/licenses refused: not an admin")
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
