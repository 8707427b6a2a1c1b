package prune

// WithdrawEach calls keep once for every planned deletion, in image and path order; when keep returns a non-empty
// reason, the folder is kept with that reason and error instead. The byte figures are updated once, at the end.
// It returns how many deletions were withdrawn. Like [RepoPlan.Withdraw] it only ever removes deletions, so it is
// safe after [Recheck]; unlike a Withdraw per folder, it costs one pass over the plan.
func (p *RepoPlan) WithdrawEach(keep func(Folder) (Reason, error)) int {
	n := 0
	for i := range p.Images {
		img := &p.Images[i]
		for j := range img.Folders {
			fo := &img.Folders[j]
			if !fo.Delete {
				continue
			}
			if r, err := keep(*fo); r != "" {
				fo.Delete, fo.Reason, fo.Err = false, r, err
				n++
			}
		}
	}
	if n > 0 {
		p.updateBytes()
	}
	return n
}
