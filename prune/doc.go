// Package prune decides which dangling manifest folders of a JFrog Artifactory local Docker/OCI repository can be
// deleted, and deletes them.
//
// The package is pure logic: it reads the repository through the [Source] port and deletes through the [Deleter]
// port, both implemented elsewhere over Artifactory's REST API. The work happens in separate steps:
//
//  1. [Planner.Plan] inventories one repository, reads every manifest document once, marks everything that must be
//     kept and returns a [RepoPlan] holding one decision, with its reason, for every digest folder. Planning never
//     deletes: a dry run is planning without applying.
//  2. [Recheck], called just before deleting, lists the manifest files changed since the plan's start and withdraws
//     the deletions of every image that changed.
//  3. [Apply] deletes the planned folders, each path checked again by [ValidateFolderPath]. With [WithImageRecheck]
//     it re-checks each batch of images just before deleting it (every tag file, whatever its times), and with
//     [WithDeleteRetries] it retries a deletion whose outcome is unknown only after such a re-check.
//  4. [NewReport] turns plans and apply results into a [Report] for JSON or text output.
//
// # Layout
//
// An image is a folder path inside the repository (possibly nested, "team/app"). A tag folder "<image>/<tag>" holds
// manifest.json (one image manifest) or list.manifest.json (an OCI image index or Docker manifest list). A digest
// folder "<image>/sha256:<64 lowercase hex>" holds a manifest or an index pushed by digest. Anything under a folder
// named "_uploads" is ignored. A folder whose last segment is not exactly "sha256:" followed by 64 lowercase hex
// digits is a tag folder, and tag folders are never deleted. Every segment of an image must be a Docker repository
// name component (lowercase letters and digits separated by '.', '_', '__' or dashes): Docker clients push no other
// names, so an image under any other name is skipped rather than judged.
//
// # Marking
//
// References resolve only within one image. The nodes of an image are the digests of its folders: the sha256 of
// each manifest file, plus, for a digest folder, the digest in its name; all digests of one folder stand or fall
// together. The roots are the digests of every tag folder, of every folder carrying Options.KeepProperty, of every
// folder whose manifest file a source marked ManifestFile.Pulled, and of
// every folder holding a manifest file younger than Options.MinAge. From a marked digest the planner marks the
// entries of its index, its subject, and every referrer whose subject it is, until nothing changes. Every digest
// folder left unmarked is deleted; every marked one is kept with one [Reason].
//
// # Reasons
//
// A kept folder gets exactly one reason, the first that applies in this order:
//
//	image-skipped       the image could not be evaluated (fail closed); nothing in it is deleted
//	tag-digest          one of its digests is the digest of a tag's own manifest file
//	tagged              reachable from a tag through index entries and subjects
//	referrer            kept because its subject (directly or through other referrers) is kept by a tag
//	protected           carries Options.KeepProperty, or is reachable only from such a folder
//	pulled              its manifest file was downloaded recently (ManifestFile.Pulled), or reachable only from such a folder
//	young               younger than Options.MinAge, or reachable only from such a folder
//	changed-during-run  was to be deleted, but [Recheck] found its image changed
//
// Reasons that come from tags precede "protected", "pulled" and "young", because they hold for as long as the tag does:
// a referrer of a young dangling image is reported as young, not as referrer, since it will go with its subject
// once the subject is old.
//
// # Failing closed
//
// Any doubt keeps data. A failed or incomplete inventory fails the whole repository. A document that cannot be read
// or parsed, whose bytes do not match its checksum, that exceeds the size limit, that holds a malformed reference, or
// that JSON parsers could read in two ways (duplicate keys, keys equal but for case), fails its image: all digest folders of that image are kept. So does a path the guard would refuse, a manifest file
// without timestamps, and a digest folder to be deleted that holds other manifest files in a subfolder (folders are
// deleted recursively). A reference to a digest that has no folder in the image is not an error; it is counted as
// a missing reference.
package prune
