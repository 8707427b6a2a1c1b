package artifactorytest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// systemConfig is the part of GET api/system/configuration (artifactory.config.xml) the emulator serves: the
// Trash Can's settings, element names as in TrashcanConfigDescriptor.
type systemConfig struct {
	XMLName  xml.Name `xml:"http://artifactory.jfrog.org/xsd/3.1.0 config"`
	Trashcan struct {
		Enabled             bool `xml:"enabled"`
		AllowPermDeletes    bool `xml:"allowPermDeletes"`
		RetentionPeriodDays int  `xml:"retentionPeriodDays"`
	} `xml:"trashcanConfig"`
}

// serveSystemConfiguration implements GET api/system/configuration: the configuration as XML, for admins only.
func (e *Emulator) serveSystemConfiguration(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !u.isAdmin() {
		writeErrors(w, http.StatusForbidden, "Forbidden")
		return
	}
	if e.cfg.edition == EditionSaaS {
		// JFrog REST API, General Configuration: "This API is available only in Self-hosted instances". The
		// answer SaaS gives is unconfirmed; artprune reads any refusal as "unknown".
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	tc := e.store.Trash()
	var c systemConfig
	c.Trashcan.Enabled = tc.Enabled
	c.Trashcan.RetentionPeriodDays = tc.RetentionDays
	b, err := xml.MarshalIndent(c, "", "    ")
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// serveTrash implements TrashcanResource (Artifactory 6.20 OSS), admins only:
//
//	POST   api/trash/empty                          202, every item of the Trash Can deleted
//	POST   api/trash/restore/<repo>/<path>[?to=<repo>/<path>]   202, moved back (to the original path without ?to)
//	DELETE api/trash/clean/<repo>/<path>            204, deleted from the Trash Can
//
// Failures answer 400 with the error envelope, as the resource's BadRequestException does.
func (e *Emulator) serveTrash(w http.ResponseWriter, r *http.Request, u *User, rest string) {
	// JFrog REST API, "Restore Item from Trash Can" and the other Trash Can APIs: Requires Artifactory Pro; OSS
	// and JCR answer as for every Pro-only API (see msgProOnly; jfrog/terraform-provider-artifactory#35).
	if e.store.Trash().NoAPI || e.cfg.edition.isOSS() {
		writeErrors(w, http.StatusBadRequest, msgProOnly)
		return
	}
	if !u.isAdmin() {
		writeErrors(w, http.StatusForbidden, "Forbidden")
		return
	}
	switch {
	case rest == "empty" && r.Method == http.MethodPost:
		e.store.EmptyTrash()
		writeText(w, http.StatusAccepted, "Successfully deleted all trashcan items")
	case strings.HasPrefix(rest, "restore/") && r.Method == http.MethodPost:
		from, err := CleanPath(strings.TrimPrefix(rest, "restore/"))
		if err != nil || from == "" {
			writeErrors(w, http.StatusBadRequest, "Bad request: a path in the Trash Can is required")
			return
		}
		to := r.URL.Query().Get("to")
		if to == "" {
			to = from
		}
		toRepo, toPath, _ := strings.Cut(strings.Trim(to, "/"), "/")
		switch err := e.store.RestoreFromTrash(from, toRepo, toPath); {
		case err == nil:
			writeText(w, http.StatusAccepted, "Successfully restored trash items")
		case errors.Is(err, ErrRestoreTarget):
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Restore repo '%s' doesn't exist", toRepo))
		case errors.Is(err, ErrNotFound):
			// Unconfirmed wording: a move whose source is missing fails with an error status, answered as 400.
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Could not find item '%s:%s' to restore.", TrashRepo, from))
		default:
			writeErrors(w, http.StatusBadRequest, err.Error())
		}
	case strings.HasPrefix(rest, "clean/") && r.Method == http.MethodDelete:
		p, err := CleanPath(strings.TrimPrefix(rest, "clean/"))
		if err != nil || p == "" {
			writeErrors(w, http.StatusBadRequest, "Bad request: a path in the Trash Can is required")
			return
		}
		if _, err := e.store.DeleteAs(TrashRepo, p, u.Name); err != nil {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Could not locate artifact '%s:%s' (Nothing to delete).", TrashRepo, p))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErrors(w, http.StatusNotFound, "Not Found")
	}
}
