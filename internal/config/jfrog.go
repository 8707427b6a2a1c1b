package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// JFrogHomeEnv names the JFrog CLI's home directory when set; otherwise it is ~/.jfrog.
const JFrogHomeEnv = "JFROG_CLI_HOME_DIR"

// JFrogConfigName is the file name of the JFrog CLI v2 configuration (format version 6).
const JFrogConfigName = "jfrog-cli.conf.v6"

// ErrEncrypted is returned for a JFrog CLI configuration whose secrets are encrypted.
var ErrEncrypted = errors.New("the JFrog CLI configuration is encrypted")

// JFrogServer is what artprune takes of one server of the JFrog CLI configuration.
type JFrogServer struct {
	ID string
	// ArtifactoryURL is the server's artifactoryUrl, or its platform url followed by "artifactory/".
	ArtifactoryURL string
	AccessToken    string
	User, Password string
	IsDefault      bool
}

// jfrogConfig is the JSON of jfrog-cli.conf.v6, as jf c add writes it.
type jfrogConfig struct {
	Servers []struct {
		ServerID       string `json:"serverId"`
		URL            string `json:"url"`
		ArtifactoryURL string `json:"artifactoryUrl"`
		AccessToken    string `json:"accessToken"`
		User           string `json:"user"`
		Password       string `json:"password"`
		RefreshToken   string `json:"refreshToken"`
		ClientCertPath string `json:"clientCertPath"`
		IsDefault      bool   `json:"isDefault"`
	} `json:"servers"`
	Version string `json:"version"`
	Enc     bool   `json:"enc"`
}

// JFrogConfigPath returns the path of the JFrog CLI configuration: $JFROG_CLI_HOME_DIR/jfrog-cli.conf.v6, else
// ~/.jfrog/jfrog-cli.conf.v6. getenv reads the environment; home is the user's home directory.
func JFrogConfigPath(getenv func(string) string, home string) string {
	dir := getenv(JFrogHomeEnv)
	if dir == "" {
		dir = filepath.Join(home, ".jfrog")
	}
	return filepath.Join(dir, JFrogConfigName)
}

// LoadJFrogServer reads the JFrog CLI configuration at path and returns server id; an empty id takes the default
// server. An encrypted configuration (jf's JFROG_CLI_ENCRYPTION_KEY or master-key encryption, marked "enc": true)
// is an error wrapping [ErrEncrypted]: artprune has no way to decrypt it, and says what to do instead.
func LoadJFrogServer(path, id string) (JFrogServer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return JFrogServer{}, fmt.Errorf("--server-id: read the JFrog CLI configuration: %w (run 'jf c add', or set %s)", err, JFrogHomeEnv)
	}
	return ParseJFrogServer(b, path, id)
}

// ParseJFrogServer is [LoadJFrogServer] on the file's content; path is for messages.
func ParseJFrogServer(b []byte, path, id string) (JFrogServer, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return JFrogServer{}, fmt.Errorf("--server-id: %s is not a JFrog CLI JSON configuration (an encrypted file?): "+
			"%w; give --url with --access-token-file instead", path, ErrEncrypted)
	}
	var cfg jfrogConfig
	if err := json.Unmarshal(trimmed, &cfg); err != nil {
		return JFrogServer{}, fmt.Errorf("--server-id: %s: %w", path, err)
	}
	if cfg.Enc {
		return JFrogServer{}, fmt.Errorf("--server-id: %s: %w (jf encrypts its secrets with JFROG_CLI_ENCRYPTION_KEY or a master key, "+
			"which artprune cannot use); give --url with --access-token-file, or export an unencrypted copy to a "+
			"separate %s", path, ErrEncrypted, JFrogHomeEnv)
	}
	if cfg.Version != "" && cfg.Version != "6" {
		return JFrogServer{}, fmt.Errorf("--server-id: %s has configuration version %q; artprune reads version 6 (JFrog CLI v2)", path, cfg.Version)
	}
	var ids []string
	for _, s := range cfg.Servers {
		ids = append(ids, s.ServerID)
		if (id != "" && s.ServerID != id) || (id == "" && !s.IsDefault) {
			continue
		}
		out := JFrogServer{ID: s.ServerID, ArtifactoryURL: s.ArtifactoryURL, AccessToken: s.AccessToken, User: s.User,
			Password: s.Password, IsDefault: s.IsDefault}
		if out.ArtifactoryURL == "" && s.URL != "" {
			out.ArtifactoryURL = strings.TrimSuffix(s.URL, "/") + "/artifactory/"
		}
		if out.ArtifactoryURL == "" {
			return JFrogServer{}, fmt.Errorf("--server-id: server %q in %s has no URL", s.ServerID, path)
		}
		if out.AccessToken == "" && (out.User == "" || out.Password == "") {
			return JFrogServer{}, fmt.Errorf("--server-id: server %q in %s has neither an access token nor a user and password "+
				"(artprune does not use refresh tokens or client certificates): give --access-token-file", s.ServerID, path)
		}
		return out, nil
	}
	if id == "" {
		return JFrogServer{}, fmt.Errorf("--server-id: %s has no default server (servers: %s)", path, strings.Join(ids, ", "))
	}
	return JFrogServer{}, fmt.Errorf("--server-id: no server %q in %s (servers: %s)", id, path, strings.Join(ids, ", "))
}
