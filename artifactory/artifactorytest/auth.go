package artifactorytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Permission is what a user may do.
type Permission string

// Permissions, as the --token flag names them.
const (
	PermRead   Permission = "read"
	PermDeploy Permission = "deploy"
	PermDelete Permission = "delete"
	PermAdmin  Permission = "admin"
)

// User is an identity that holds an access token.
type User struct {
	Name  string
	Token string
	Perms []Permission
	// Repos limits what the user can see to repositories matching these globs; empty means every repository.
	// Artifactory filters AQL rows by permission after applying the limit, so such a user gets short pages.
	Repos []string
	// Exclude hides paths from the user, as the exclude patterns of Artifactory's permission targets do: each
	// pattern is "<repo glob>/<Ant path pattern>" ("docker-local/my-image/latest", "*/team-b/**"), where "*" and
	// "?" match within one segment and a "**" segment matches any number of segments. A path is hidden when it or
	// one of its ancestors matches. Hidden items are left out of AQL results (after the limit, so pages come back
	// short), of folder listings and of api/storage children; reading, deploying or deleting them answers 403.
	// Admins see everything. The Docker Registry V2 API does not apply these patterns.
	Exclude []string
}

// ParseUser parses NAME:TOKEN:PERMS[:REPOS[:EXCLUDES]] where PERMS is a comma list of read, deploy, delete, admin,
// REPOS a comma list of repository globs (empty for all) and EXCLUDES a comma list of path patterns hidden from the
// user (see [User.Exclude]; the patterns may contain colons, as in "docker-local/app/sha256:*").
func ParseUser(spec string) (User, error) {
	parts := strings.SplitN(spec, ":", 5)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return User{}, fmt.Errorf("user %q: want NAME:TOKEN:PERMS[:REPOS[:EXCLUDES]]", redactSpec(spec))
	}
	u := User{Name: parts[0], Token: parts[1]}
	for p := range strings.SplitSeq(parts[2], ",") {
		switch perm := Permission(strings.TrimSpace(p)); perm {
		case PermRead, PermDeploy, PermDelete, PermAdmin:
			u.Perms = append(u.Perms, perm)
		case "":
		default:
			return User{}, fmt.Errorf("user %q: unknown permission %q (want read, deploy, delete or admin)", u.Name, p)
		}
	}
	if len(parts) >= 4 && parts[3] != "" {
		u.Repos = strings.Split(parts[3], ",")
	}
	if len(parts) == 5 && parts[4] != "" {
		for _, pat := range strings.Split(parts[4], ",") {
			if err := checkExclude(pat); err != nil {
				return User{}, fmt.Errorf("user %q: %w", u.Name, err)
			}
			u.Exclude = append(u.Exclude, pat)
		}
	}
	return u, nil
}

// checkExclude returns an error if pat is not "<repo glob>/<path pattern>" with valid segment globs.
func checkExclude(pat string) error {
	repo, rest, ok := strings.Cut(pat, "/")
	if !ok || repo == "" || rest == "" {
		return fmt.Errorf("exclude pattern %q: want REPO/PATH, such as docker-local/my-image/latest", pat)
	}
	for seg := range strings.SplitSeq(pat, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("exclude pattern %q: %w", pat, err)
		}
	}
	return nil
}

func redactSpec(spec string) string {
	parts := strings.Split(spec, ":")
	if len(parts) > 1 {
		parts[1] = "***"
	}
	return strings.Join(parts, ":")
}

func (u *User) can(p Permission) bool {
	return slices.Contains(u.Perms, PermAdmin) || slices.Contains(u.Perms, p)
}

func (u *User) isAdmin() bool { return slices.Contains(u.Perms, PermAdmin) }

// seesRepo reports whether the user may read repository key.
func (u *User) seesRepo(key string) bool {
	if key == TrashRepo { // only admins see the Trash Can
		return u.isAdmin()
	}
	if len(u.Repos) == 0 || u.isAdmin() {
		return true
	}
	for _, g := range u.Repos {
		if ok, _ := path.Match(g, key); ok {
			return true
		}
	}
	return false
}

// hides reports whether the path full of repository repo (relative, "" for the root) is hidden from the user by
// an exclude pattern: the path itself or one of its ancestors matches.
func (u *User) hides(repo, full string) bool {
	if len(u.Exclude) == 0 || u.isAdmin() || full == "" || full == "." {
		return false
	}
	segs := strings.Split(full, "/")
	for _, pat := range u.Exclude {
		prepo, ppath, _ := strings.Cut(pat, "/")
		if ok, _ := path.Match(prepo, repo); !ok {
			continue
		}
		pp := strings.Split(ppath, "/")
		for n := 1; n <= len(segs); n++ {
			if antMatch(pp, segs[:n]) {
				return true
			}
		}
	}
	return false
}

// visible returns the items of kids the user may see (kids itself when nothing is hidden).
func (u *User) visible(kids []*Item) []*Item {
	if len(u.Exclude) == 0 || u.isAdmin() {
		return kids
	}
	out := make([]*Item, 0, len(kids))
	for _, k := range kids {
		if !u.hides(k.Repo, k.FullPath()) {
			out = append(out, k)
		}
	}
	return out
}

// antMatch matches path segments against Ant pattern segments: "**" matches any number of segments, other
// pattern segments match one segment with path.Match.
func antMatch(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if antMatch(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// authenticator resolves the credentials of a request.
type authenticator struct {
	clock *Clock

	mu           sync.Mutex
	byToken      map[string]*User
	byName       map[string]*User
	dockerTokens map[string]dockerToken
}

type dockerToken struct {
	user    *User
	expires time.Time
}

func newAuthenticator(clock *Clock, users []User) *authenticator {
	a := &authenticator{clock: clock, byToken: map[string]*User{}, byName: map[string]*User{}, dockerTokens: map[string]dockerToken{}}
	for i := range users {
		u := users[i]
		a.byToken[u.Token] = &u
		a.byName[u.Name] = &u
	}
	return a
}

// authResult is what authenticate found.
type authResult int

const (
	authNone authResult = iota // no credentials
	authOK
	authBad // credentials that do not match
)

// authenticate accepts an access token as Bearer, a token issued by the Docker token endpoint as Bearer, and basic
// auth whose password is the user's access token.
func (a *authenticator) authenticate(r *http.Request) (*User, authResult) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, authNone
	}
	if user, pass, ok := r.BasicAuth(); ok {
		a.mu.Lock()
		defer a.mu.Unlock()
		if u, ok := a.byName[user]; ok && u.Token == pass {
			return u, authOK
		}
		return nil, authBad
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, authBad
	}
	tok = strings.TrimSpace(tok)
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.byToken[tok]; ok {
		return u, authOK
	}
	if dt, ok := a.dockerTokens[tok]; ok && a.clock.Now().Before(dt.expires) {
		return dt.user, authOK
	}
	return nil, authBad
}

// issueDockerToken returns a new short-lived token for u.
func (a *authenticator) issueDockerToken(u *User, ttl time.Duration) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	for k, v := range a.dockerTokens { // keep the map small in long runs
		if now.After(v.expires) {
			delete(a.dockerTokens, k)
		}
	}
	a.dockerTokens[tok] = dockerToken{user: u, expires: now.Add(ttl)}
	return tok
}
