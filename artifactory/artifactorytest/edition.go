package artifactorytest

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Edition is the Artifactory edition the emulator behaves as. Each behaviour that differs is modelled from a
// source, named where it is implemented and in the README's emulator section.
type Edition string

// The editions.
const (
	// EditionPro is self-managed Artifactory Pro (and above): AQL sorts; today's default.
	EditionPro Edition = "pro"
	// EditionJCR is JFrog Container Registry: the OSS restrictions of AQL, license type "JCR Edition".
	EditionJCR Edition = "jcr"
	// EditionOSS is Artifactory OSS / Community Edition: AQL refuses sort and property result filters.
	EditionOSS Edition = "oss"
	// EditionSaaS is the JFrog cloud: AQL sorts, results capped at 500,000, three AQL queries at once.
	EditionSaaS Edition = "saas"
)

// Editions lists every edition, the default first.
var Editions = []Edition{EditionPro, EditionJCR, EditionOSS, EditionSaaS}

// ParseEdition parses an edition name (pro, jcr, oss, saas).
func ParseEdition(s string) (Edition, error) {
	for _, e := range Editions {
		if strings.EqualFold(s, string(e)) {
			return e, nil
		}
	}
	return "", fmt.Errorf("edition %q: want pro, jcr, oss or saas", s)
}

// WithEdition makes the emulator behave as edition ed (EditionPro when not given).
func WithEdition(ed Edition) Option {
	return func(c *config) error {
		if _, err := ParseEdition(string(ed)); err != nil {
			return err
		}
		c.edition = ed
		return nil
	}
}

// WithAQLConcurrency sets the AQL concurrency limiter: at most n queries run at once, a query that waits longer
// than wait for a slot is answered 429. n = 0 turns the limiter off. The saas edition defaults to
// [SaaSAQLConcurrency] and [SaaSAQLPendingTimeout]; other editions to no limiter.
func WithAQLConcurrency(n int, wait time.Duration) Option {
	return func(c *config) error {
		if n < 0 || wait < 0 {
			return fmt.Errorf("AQL concurrency %d and wait %v must not be negative", n, wait)
		}
		c.aqlConcurrency, c.aqlPending, c.aqlConcurrencySet = n, wait, true
		return nil
	}
}

// Source: JFrog documentation "AQL performance" (docs.jfrog.com/artifactory/docs/aql-performance): the AQL
// concurrency limiter lets 3 AQL/search calls run in parallel by default, and answers 429 to a call left pending
// for 10,000 ms. The page documents no Retry-After header, so the emulator sends none.
const (
	// SaaSAQLConcurrency is the documented default number of AQL queries that run in parallel.
	SaaSAQLConcurrency = 3
	// SaaSAQLPendingTimeout is the documented time a query waits for a slot before the 429.
	SaaSAQLPendingTimeout = 10 * time.Second
)

// Source: Artifactory OSS 6.20, AqlQueryValidator (knottnhupfer/artifactory-oss): blockSortingForOSS and
// blockPropertyResultFilterForOSS throw AqlException with these messages (newline included) when
// permissionProvider.isOss(); AqlResource answers an AqlException as HTTP 400 with the message as plain text. The
// same text appears in a JCR user's log (devopshq/artifactory-cleanup#59) and on 7.4.3 CE (jfrog/jfrog-cli#957).
const (
	msgSortOSS       = "Sorting is not supported by AQL in the open source version\n"
	msgPropFilterOSS = "Filtering properties result is not supported by AQL in the open source version\n"
)

// msgProOnly is the answer of a REST endpoint that JFrog documents as "Requires Artifactory Pro" on an edition
// without the REST addon. Sources: JFrog REST API docs, "Set Item Properties" and "Delete Item Properties" (Notes:
// Requires Artifactory Pro); the answer, HTTP 400 in the error envelope, as captured from a 7.x OSS server in public
// READMEs (for api/repositories/configurations and PUT api/repositories/<key>); Artifactory OSS 6.20 answered the
// same text as plain text (MissingRestAddonException). JCR has no REST addon either (its license type is among
// those jfrog/terraform-provider-artifactory lists as not supporting these APIs).
const msgProOnly = "This REST API is available only in Artifactory Pro (see: jfrog.com/artifactory/features). " +
	"If you are already running Artifactory Pro please make sure your server is activated with a valid license key.\n"

// isOSS reports whether the edition has the OSS restrictions of AQL (JCR is built on the OSS core).
func (ed Edition) isOSS() bool { return ed == EditionJCR || ed == EditionOSS }

// versionAddons is the "addons" list of api/system/version. Source: jfrog/build-info, ArtifactoryVersion:
// isOSS() is !hasAddons(), and build-info reads hasAddons from this list being non-empty; so OSS and JCR answer
// an empty list. The Pro list is a subset of what Pro servers name.
func (ed Edition) versionAddons() []string {
	if ed.isOSS() {
		return []string{}
	}
	return []string{"build", "docker", "ldap", "properties", "replication", "rest", "search", "sso", "watch"}
}

// licenseType is the "type" of api/system/licenses. Source: jfrog/terraform-provider-artifactory README and
// peimanja/artifactory_exporter (PR #44): "JCR Edition" and "OSS" are the license types of those editions; the
// endpoint needs an admin and works without a license. Pro and SaaS answer a commercial type.
func (ed Edition) licenseType() string {
	switch ed {
	case EditionJCR:
		return "JCR Edition"
	case EditionOSS:
		return "OSS"
	case EditionSaaS:
		return "Enterprise Plus"
	}
	return "Commercial"
}

// LicensesShape is how api/system/licenses shapes its answer.
type LicensesShape string

// The shapes of api/system/licenses.
const (
	// LicensesSingle is a single server's answer, one object: {"type":...,"validThrough":...,"licensedTo":...}
	// (JFrog REST API "License Information"; jfrog/terraform-provider-artifactory README). The default.
	LicensesSingle LicensesShape = "single"
	// LicensesHA is an HA cluster's answer as peimanja/artifactory_exporter decodes it (LicensesInfo): the
	// licenses under "licenses", each with licenseHash, nodeId, nodeUrl and expired.
	LicensesHA LicensesShape = "ha"
	// LicensesHAList is an HA cluster's answer as JFrog's REST API documents it ("HA License Information",
	// sample output): the same objects as a bare JSON list. The two sources disagree on the envelope; which one
	// a given version sends is not confirmed, so the emulator can send either.
	LicensesHAList LicensesShape = "ha-list"
)

// ParseLicensesShape parses a shape name (single, ha, ha-list).
func ParseLicensesShape(s string) (LicensesShape, error) {
	for _, sh := range []LicensesShape{LicensesSingle, LicensesHA, LicensesHAList} {
		if strings.EqualFold(s, string(sh)) {
			return sh, nil
		}
	}
	return "", fmt.Errorf("licenses shape %q: want single, ha or ha-list", s)
}

// WithLicensesShape makes api/system/licenses answer in shape sh (LicensesSingle when not given): an HA
// cluster's shapes list two licenses of the edition's type, one activated on node "art1" and one "Not in use",
// as in JFrog's sample.
func WithLicensesShape(sh LicensesShape) Option {
	return func(c *config) error {
		if _, err := ParseLicensesShape(string(sh)); err != nil {
			return err
		}
		c.licenses = sh
		return nil
	}
}

// serveLicense answers GET api/system/licenses: admin only.
func (e *Emulator) serveLicense(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !u.isAdmin() {
		writeErrors(w, http.StatusForbidden, "You are not authorized to view the license")
		return
	}
	body := map[string]any{"type": e.cfg.edition.licenseType(), "validThrough": "", "licensedTo": ""}
	if !e.cfg.edition.isOSS() {
		body["validThrough"], body["licensedTo"] = "Dec 31, 2099", "artprune emulator"
	}
	if e.cfg.licenses != LicensesHA && e.cfg.licenses != LicensesHAList {
		writeJSON(w, http.StatusOK, body)
		return
	}
	var nodes []map[string]any
	for i, node := range []struct{ id, url string }{{"art1", "http://10.0.0.1:8091/artifactory"}, {"Not in use", "Not in use"}} {
		n := map[string]any{"licenseHash": fmt.Sprintf("%040x", i+1), "nodeId": node.id, "nodeUrl": node.url, "expired": false}
		for k, v := range body {
			n[k] = v
		}
		nodes = append(nodes, n)
	}
	if e.cfg.licenses == LicensesHAList {
		writeJSON(w, http.StatusOK, nodes)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"licenses": nodes})
}

// Edition returns the edition the emulator behaves as.
func (e *Emulator) Edition() Edition { return e.cfg.edition }

// aqlLimiter is the AQL concurrency limiter of the saas edition.
type aqlLimiter struct {
	slots    chan struct{}
	wait     time.Duration
	rejected atomic.Int64 // queries answered 429
}

// AQLRejected returns how many AQL queries the concurrency limiter answered 429 (0 without a limiter).
func (e *Emulator) AQLRejected() int64 {
	if e.aqlLimit == nil {
		return 0
	}
	return e.aqlLimit.rejected.Load()
}

func newAQLLimiter(n int, wait time.Duration) *aqlLimiter {
	if n <= 0 {
		return nil
	}
	return &aqlLimiter{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting at most l.wait; it returns false if none came free (or the request ended).
func (l *aqlLimiter) acquire(r *http.Request) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		l.rejected.Add(1)
		return false
	case <-r.Context().Done():
		return false
	}
}

func (l *aqlLimiter) release() { <-l.slots }
