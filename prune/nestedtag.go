package prune

import (
	"errors"
	"fmt"
)

// ErrTagFolderImage means an image's folder, or a folder above it, is also a tag folder of another image: its
// digest folders cannot be told from folders inside that tag, so the image is skipped.
var ErrTagFolderImage = errors.New("image folder is also a tag folder")

// markTagFolderImages fails closed every image with digest folders whose folder, or a folder above it, is a tag
// folder of another image. With Artifactory's layout, "img/v1/sha256:C" is a digest folder of image "img/v1", but when "img/v1" also
// holds a manifest file it is the tag v1 of image "img" too, and whether that tag (or the client that pushed it)
// depends on what lies below it is not something the listing shows. Nothing in such an image is read, judged or
// deleted; the parent image is judged as usual (its tag folder is a root). It runs once the listing is finished.
func (inv *inventory) markTagFolderImages() {
	tagFolders := make(map[string]string, len(inv.excludedTags)) // tag folder path -> its image
	for folder, image := range inv.excludedTags {
		tagFolders[folder] = image
	}
	hasDigest := make([]bool, len(inv.images))
	for i := range inv.files {
		f := &inv.files[i]
		if f.digestFolder() {
			hasDigest[f.img] = true
		} else {
			tagFolders[inv.folderPath(f)] = inv.images[f.img].name
		}
	}
	if len(tagFolders) == 0 {
		return
	}
	for i, img := range inv.images {
		if !hasDigest[i] {
			continue // only tags: nothing of it could be deleted, so nothing to doubt
		}
		for d, ok := img.name, true; ok; d, _, ok = cutLast(d) {
			parent, isTag := tagFolders[d]
			if !isTag {
				continue
			}
			img.errs = append(img.errs, fmt.Errorf("image %s: the folder %s is also the tag %q of image %s, so a digest folder "+
				"below it may belong to that tag; nothing in image %s is deleted (move or delete the tag, or exclude image %s "+
				"with --exclude-image to silence this): %w", img.name, d, d[len(parent)+1:], parent, img.name, img.name, ErrTagFolderImage))
			break
		}
	}
}
