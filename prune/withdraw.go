package prune

// ReasonNotApproved: an approved plan is being applied (artprune apply) and this folder, although dangling now,
// is not in it, or its evidence no longer matches the approved entry; Folder.Err says which.
const ReasonNotApproved Reason = "not-approved"

// Withdraw keeps the folder at path, which the plan deletes, with reason r and err, and updates the byte figures.
// It reports whether path was a planned deletion. It only ever removes deletions, so it is safe after [Recheck].
func (p *RepoPlan) Withdraw(path string, r Reason, err error) bool {
	for i := range p.Images {
		img := &p.Images[i]
		for j := range img.Folders {
			fo := &img.Folders[j]
			if fo.Path != path || !fo.Delete {
				continue
			}
			fo.Delete, fo.Reason, fo.Err = false, r, err
			p.updateBytes()
			return true
		}
	}
	return false
}

// Folder returns the decision about the digest folder at path, if the plan has it.
func (p *RepoPlan) Folder(path string) (Folder, bool) {
	for _, img := range p.Images {
		for _, fo := range img.Folders {
			if fo.Path == path {
				return fo, true
			}
		}
	}
	return Folder{}, false
}
