package aql

import (
	"strings"
	"testing"
)

// TestJFrogClientQueries runs every query shape jfrog-client-go v1.55.0
// generates (artifactory/services/utils/aqlquerybuilder.go): search and
// delete by pattern (recursive or not, with folders, exclusions, props,
// exclude-props, sort/offset/limit, include, transitive), the follow-up
// property queries of SearchBySpecWithAql, and the fixed builders. The query
// texts were produced by running the builder's own code on the parameters
// the names describe.
func TestJFrogClientQueries(t *testing.T) {
	items := dockerRepo()
	tests := []struct {
		name  string
		query string
		want  []int  // indexes into dockerRepo(), in response order
		err   string // a fragment of the expected 400 message, if any
	}{
		{"search repo recursive",
			`items.find({"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`,
			[]int{1, 3, 4, 6, 8, 10, 11}, ""},
		{"search repo non-recursive",
			`items.find({"$or":[{"$and":[{"repo":"docker-local","path":".","name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`,
			[]int{11}, ""},
		{"search folder recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`,
			[]int{1, 3, 4, 6, 8, 10}, ""},
		{"search folder non-recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`,
			[]int{1}, ""},
		{"search name pattern recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*manifest.json"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*manifest.json"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`,
			[]int{3, 6, 10}, ""},
		{"search name pattern non-recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":"manifest.json"}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{3, 6}, ""},
		{"search repo wildcard",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":{"$match":"docker-*"},"path":{"$match":"*img"},"name":{"$match":"*"}}]},{"$and":[{"repo":{"$match":"docker-*"},"path":{"$match":"*img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 3, 4, 6, 8, 10, 13}, ""},
		{"search star",
			`items.find({"$or":[{"$and":[{"repo":{"$match":"*"},"path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 3, 4, 6, 8, 10, 11, 13, 14}, ""},
		{"search star slash",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":{"$match":"*"},"path":{"$match":"*a*b*c/dd"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			nil, ""},
		{"search exact file",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img/latest","name":"manifest.json"}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{3}, ""},
		{"search exclusions recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"path":{"$nmatch":"*"},"name":{"$nmatch":"*_uploads*"}}],"$or":[{"path":{"$nmatch":"*_uploads*"},"name":{"$nmatch":"*"}}],"$or":[{"repo":{"$nmatch":"*_uploads*"},"path":{"$nmatch":"*"},"name":{"$nmatch":"*"}}],"$or":[{"repo":{"$nmatch":"docker-local"},"path":{"$nmatch":"img/latest"},"name":{"$nmatch":"*"}}],"$or":[{"repo":{"$nmatch":"docker-local"},"path":{"$nmatch":"img/latest/*"},"name":{"$nmatch":"*"}}],"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 6, 10}, ""},
		{"search exclusions non-recursive",
			`items.find({"path":{"$ne":"."},"$or":[{"path":{"$nmatch":"*"},"name":{"$nmatch":"*.json"}}],"$or":[{"repo":{"$nmatch":"*.json"},"path":{"$nmatch":"*"},"name":{"$nmatch":"*"}}],"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1}, ""},
		{"search props",
			`items.find({"$and":[{"@docker.manifest":"latest"}],"$and":[{"@docker.repoName":{"$match":"i*"}}],"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{3}, ""},
		{"search exclude props",
			`items.find({"$or":[{"@docker.manifest":{"$ne":"latest"}}],"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 4, 6, 8, 10, 11}, ""},
		{"search sort limit offset",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created").sort({"$desc":["created","name"]}).offset(1).limit(2)`,
			[]int{8, 6}, ""},
		{"search sort limit offset/props-all",
			`items.find({"$and":[{"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]},{"$or":[{"@*":{"$match":"*"}}]}]}).include("name","repo","path","actual_sha1","property")`,
			[]int{3, 6, 10}, ""},
		{"search sort asc symlink",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created").sort({"$asc":["path"]})`,
			[]int{1, 8, 3, 4, 6, 10}, ""},
		{"search sort asc symlink/props-symlink",
			`items.find({"$and":[{"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]},{"$or":[{"@symlink.dest":{"$match":"*"}}]}]}).include("name","repo","path","actual_sha1","property")`,
			nil, ""},
		{"search limit only",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created").limit(3)`,
			[]int{1, 3, 4}, ""},
		{"search include",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","sha256","modified")`,
			[]int{1, 3, 4, 6, 8, 10}, ""},
		{"search include props",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","sha256","property","property")`,
			[]int{1, 3, 4, 6, 8, 10}, ""},
		{"search transitive",
			`items.find({"path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created").transitive()`,
			[]int{1, 3, 4, 6, 8, 10}, ""},
		{"delete folder (dirs)",
			`items.find({"type":"any","path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img/sha256:abc","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/sha256:abc/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{6}, ""},
		{"delete pattern (dirs) non-recursive",
			`items.find({"type":"any","path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"sha256:*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{5}, ""},
		{"delete exclude-props dirs",
			`items.find({"$or":[{"@keep":{"$ne":"true"}}],"type":"any","path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, ""},
		{"delete not-to-delete",
			`items.find({"$and":[{"@keep":"true"}],"type":"any","path":{"$ne":"."},"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{10}, ""},
		{"delete exclusions dirs",
			`items.find({"type":"any","path":{"$ne":"."},"$or":[{"path":{"$nmatch":"*_uploads"},"name":{"$nmatch":"*"}}],"$or":[{"path":{"$nmatch":"*_uploads/*"},"name":{"$nmatch":"*"}}],"$or":[{"$and":[{"repo":"docker-local","path":"img","name":{"$match":"*"}}]},{"$and":[{"repo":"docker-local","path":{"$match":"img/*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 2, 3, 4, 5, 6, 7, 9, 10}, ""},
		{"search multi props values",
			`items.find({"$and":[{"@docker.repoName":"img"},{"@docker.repoName":{"$match":"other*"}}],"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			nil, ""},
		{"search multi exclude props values",
			`items.find({"$or":[{"@docker.manifest":{"$ne":"latest"}},{"@docker.manifest":{"$ne":"v1"}}],"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created")`,
			[]int{1, 3, 4, 6, 8, 10, 11}, ""},
		{"search offset only props",
			`items.find({"$or":[{"$and":[{"repo":"docker-local","path":{"$match":"*"},"name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property").offset(2)`,
			nil, "sort, offset and limit"},
		{"latest created file",
			`items.find({"type": "file","repo": "docker-local","path": {"$match": "img/*"}}).sort({"$desc":["created"]}).limit(1)`,
			[]int{10}, ""},
		{"latest created folder",
			`items.find({"type": "folder","repo": "docker-local","path": {"$match": "img"}}).sort({"$desc":["created"]}).limit(1)`,
			[]int{9}, ""},
		{"pypi",
			`items.find({"repo": "pypi-local","$or": [{"$and":[{"path": {"$match": "*"},"name": {"$match": "pkg-1.0*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256")`,
			nil, ""},
		{"yarn",
			`items.find({"@npm.name":"left-pad","$or": [{"@npm.version":"1.3.0"},{"@npm.version":"v1.3.0"}]}).include("name","repo","path","actual_sha1","actual_md5","sha256")`,
			nil, ""},
		{"build info json",
			`items.find({
			"repo": "artifactory-build-info",
			"path": {
				"$match": "my build"
			},
			"name": {
				"$match": "7-1700000000000.json"
			}
		}).include("name","repo","path","actual_sha1","actual_md5")`,
			nil, ""},
		{"build artifacts",
			`items.find({"$or":[{"$and":[{"artifact.module.build.name":"b","artifact.module.build.number":"1"}]}]}).include("name","repo","path","actual_sha1")`,
			nil, "artifact.module.build.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != "" {
				wantError(t, tt.query, tt.err)
				return
			}
			equalKeys(t, run(t, tt.query, items), pick(items, tt.want...))
		})
	}
}

// TestJFrogClientIncludeProperties checks the body of a search that asks for
// properties, as jfrog-client-go parses it.
func TestJFrogClientIncludeProperties(t *testing.T) {
	const q = `items.find({"$or":[{"$and":[{"repo":"docker-local","path":".","name":{"$match":"*"}}]}]}).include("name","repo","path","actual_md5","actual_sha1","sha256","size","type","modified","created","property")`
	items := dockerRepo()
	items[11].props = map[string][]string{"k": {"v"}}
	got := body(t, q, items, 0, nil)
	const want = `{"results":[{"name":"root.txt","repo":"docker-local","path":".","actual_md5":"m5-root.txt","actual_sha1":"s1-root.txt","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1","size":1200,"type":"file","modified":"2024-01-10T23:01:00.000Z","created":"2024-01-10T23:00:00.000Z","properties":[{"key":"k","value":"v"}]}],"range":{"start_pos":0,"end_pos":1,"total":1}}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(got, `{"results":[`) {
		t.Error("bad envelope")
	}
}
