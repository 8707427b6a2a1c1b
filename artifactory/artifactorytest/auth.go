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
}

// ParseUser parses NAME:TOKEN:PERMS[:REPOS] where PERMS is a comma list of read, deploy, delete, admin and REPOS a
// comma list of repository globs.
func ParseUser(spec string) (User, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] == "" || parts[1] == "" {
		return User{}, fmt.Errorf("user %q: want NAME:TOKEN:PERMS[:REPOS]", redactSpec(spec))
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
	if len(parts) == 4 && parts[3] != "" {
		u.Repos = strings.Split(parts[3], ",")
	}
	return u, nil
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
