package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/artprune/artprune/artifactory"
)

// checkTrashCan reads the Trash Can's configuration (admins only): whether deletions can be undone, and for how
// long. It only reads.
func checkTrashCan(ctx context.Context, env Env) Result {
	st, err := env.Client.TrashStatus(ctx)
	switch {
	case err != nil:
		return Result{Status: StatusWarn, Found: "reading the Trash Can configuration failed: " + err.Error(),
			Artprune: "reports trash_can unknown until it finds a folder it deleted in the Trash Can; restore and the final check work only if it is enabled"}
	case !st.Known:
		return Result{Status: StatusWarn, Found: "the configuration (api/system/configuration) is not readable by this user, or not served (SaaS)",
			Artprune: "reports trash_can unknown until it finds a folder it deleted in the Trash Can; restoring needs an admin of a Pro server"}
	case !st.Enabled:
		return Result{Status: StatusWarn, Found: "the Trash Can is disabled",
			Artprune: "every deletion is permanent: --delete says so at the top and bottom of its output, artprune restore and the final check after the deletes cannot bring anything back"}
	}
	if info, err := env.Client.Server(ctx); err == nil && !info.Sorts {
		// JCR and OSS: JFrog documents the Trash Can REST API as "Requires Artifactory Pro".
		return Result{Status: StatusWarn, Found: fmt.Sprintf("the Trash Can is enabled, items kept %d days; this edition (%s) has no Trash Can REST API", st.RetentionDays, info.Edition),
			Artprune: "deleted folders can be restored by hand (the UI's Trash Can), but artprune restore and the final check after the deletes cannot restore here: a push during the deletes that makes a deleted folder live again is reported, and exits 1"}
	}
	return Result{Status: StatusOK, Found: fmt.Sprintf("the Trash Can is enabled, items kept %d days", st.RetentionDays),
		Artprune: fmt.Sprintf("deleted folders go to auto-trashcan for %d days: artprune restore REPORT.json undoes a run, the final check restores a folder a push made live again, and --purge-trash-after removes only what artprune put there", st.RetentionDays)}
}

// checkScratchTrash pushes a small image by digest to env.Scratch, deletes its folder, and checks what undoing a
// run relies on: the folder is then in the Trash Can, Artifactory's restore brings it back where it was, and
// artprune's restore (which also removes the properties the restore leaves) does too. It removes the image and its
// copy in the Trash Can at the end.
func checkScratchTrash(ctx context.Context, env Env) (res Result) {
	p, cleanup, refused := startProbe(ctx, env)
	if refused != nil {
		return *refused
	}
	defer cleanup(&res)
	c, image := p.c, p.image
	img, err := p.pushImage(ctx, "")
	if err != nil {
		return pushFailed(err)
	}
	folder := image + "/sha256:" + img.hex
	if err := c.DeleteFolder(ctx, env.Scratch, folder); err != nil {
		return Result{Status: StatusFail, Found: "deleting " + folder + ": " + err.Error(), Artprune: "a delete it cannot make is reported, never counted as done"}
	}
	inTrash, err := c.InTrash(ctx, env.Scratch, folder)
	switch {
	case err != nil:
		return Result{Status: StatusWarn, Found: "looking for the deleted folder in the Trash Can: " + err.Error(),
			Artprune: "cannot tell whether deletions can be undone here: restore needs an admin, and the Trash Can enabled"}
	case !inTrash:
		return Result{Status: StatusWarn, Found: "the deleted folder is not in auto-trashcan: the Trash Can is disabled here",
			Artprune: "every deletion is permanent; --delete says so, restore and the final check cannot bring anything back"}
	}
	if err := c.Restore(ctx, env.Scratch, folder); err != nil {
		status := StatusFail
		if errors.Is(err, artifactory.ErrTrashAPIUnavailable) {
			status = StatusWarn
		}
		return Result{Status: status, Found: "restoring " + folder + " from the Trash Can: " + err.Error(),
			Artprune: "artprune restore and the final check need the Trash Can's restore API (Pro and above, an admin): here deletions can only be undone by hand"}
	}
	back, err := c.Exists(ctx, env.Scratch, folder+"/manifest.json")
	if err != nil || !back {
		return Result{Status: StatusFail, Found: fmt.Sprintf("after the restore, %s/manifest.json exists: %v (%v)", folder, back, err),
			Artprune: "artprune restore would report success for a folder that did not come back"}
	}
	return Result{Status: StatusOK, Found: "a deleted digest folder went to auto-trashcan and came back where it was with its manifest",
		Artprune: "artprune restore REPORT.json and the final check after the deletes can undo deletions here"}
}
