package aql

import (
	"strings"
	"time"
)

// evalCtx is the evaluation state of one Execute or Match call. It caches the
// field values of the current row so that each field is read through
// Row.Field at most once per row, and it is allocated once per call, not per row.
type evalCtx struct {
	row      Row
	typed    TypedRow    // row, when it implements TypedRow
	edges    []time.Time // now minus each relative time of the query, by relNode.idx
	gen      uint32      // incremented per row; invalidates vals and props
	vals     [numFields]fieldVal
	props    map[string][]string
	propsGen uint32
}

// newEvalCtx returns a context that evaluates the relative times rels against now.
func newEvalCtx(now time.Time, rels []relTime) *evalCtx {
	c := &evalCtx{edges: make([]time.Time, len(rels))}
	for i, r := range rels {
		c.edges[i] = r.before(now)
	}
	return c
}

// reset makes r the current row.
func (c *evalCtx) reset(r Row) {
	c.row = r
	c.typed, _ = r.(TypedRow)
	c.gen++
	if c.gen == 0 { // wrapped: stale entries could look fresh
		c.vals = [numFields]fieldVal{}
		c.propsGen = 0
		c.gen = 1
	}
}

// get returns the value of field f of the current row.
func (c *evalCtx) get(f fieldID) *fieldVal {
	v := &c.vals[f]
	if v.gen != c.gen {
		v.gen = c.gen
		v.ok = v.read(c.row, c.typed, f)
	}
	return v
}

// properties returns the properties of the current row.
func (c *evalCtx) properties() map[string][]string {
	if c.propsGen != c.gen {
		c.propsGen = c.gen
		c.props = c.row.Properties()
	}
	return c.props
}

// node is a compiled criterion.
type node interface {
	eval(c *evalCtx) bool
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opGt
	opGte
	opLt
	opLte
	opMatch
	opNmatch
	opBefore
	opLast
)

// opOf returns the comparison operator spelled name.
func opOf(name string) (cmpOp, bool) {
	switch name {
	case "$eq":
		return opEq, true
	case "$ne":
		return opNe, true
	case "$gt":
		return opGt, true
	case "$gte":
		return opGte, true
	case "$lt":
		return opLt, true
	case "$lte":
		return opLte, true
	case "$match":
		return opMatch, true
	case "$nmatch":
		return opNmatch, true
	case "$before":
		return opBefore, true
	case "$last":
		return opLast, true
	}
	return 0, false
}

// holds reports whether the three-way comparison result c satisfies op
// (one of opEq..opLte).
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGte:
		return c >= 0
	case opLt:
		return c < 0
	default:
		return c <= 0
	}
}

// andNode is true when all of its children are.
type andNode []node

func (n andNode) eval(c *evalCtx) bool {
	for _, k := range n {
		if !k.eval(c) {
			return false
		}
	}
	return true
}

// orNode is true when any of its children is.
type orNode []node

func (n orNode) eval(c *evalCtx) bool {
	for _, k := range n {
		if k.eval(c) {
			return true
		}
	}
	return false
}

// constNode is a criterion with a fixed outcome ("type":"any").
type constNode bool

func (n constNode) eval(*evalCtx) bool { return bool(n) }

// Field criteria follow the SQL Artifactory generates (Artifactory OSS,
// Criteria.java): a row without a value for the field (SQL NULL) satisfies
// $ne and $nmatch ("f != ? or f is null", "f not like ? or f is null") and
// no other operator; {"$eq":null} / {"$ne":null} test for absence / presence.

// strNode compares a string field bytewise.
type strNode struct {
	f  fieldID
	op cmpOp
	v  string
}

func (n *strNode) eval(c *evalCtx) bool {
	v := c.get(n.f)
	if !v.ok {
		return n.op == opNe
	}
	if n.op == opEq {
		return v.s == n.v
	}
	return n.op.holds(strings.Compare(v.s, n.v))
}

// globNode is $match (or $nmatch when neg) on a string field.
type globNode struct {
	f   fieldID
	g   glob
	neg bool
}

func (n *globNode) eval(c *evalCtx) bool {
	v := c.get(n.f)
	if !v.ok {
		return n.neg
	}
	return n.g.match(v.s) != n.neg
}

// intNode compares an integer field numerically.
type intNode struct {
	f  fieldID
	op cmpOp
	v  int64
}

func (n *intNode) eval(c *evalCtx) bool {
	v := c.get(n.f)
	if !v.ok {
		return n.op == opNe
	}
	return n.op.holds(cmp64(v.n, n.v))
}

// timeNode compares a time field chronologically at millisecond precision.
type timeNode struct {
	f  fieldID
	op cmpOp
	ms int64
}

func (n *timeNode) eval(c *evalCtx) bool {
	v := c.get(n.f)
	if !v.ok {
		return n.op == opNe
	}
	return n.op.holds(cmp64(truncMillis(v.t), n.ms))
}

// relNode is $before (older than now minus the amount) or $last (newer than
// now minus the amount); a row without the time satisfies neither.
type relNode struct {
	f    fieldID
	idx  int // index of the relative time in Query.rels and evalCtx.edges
	last bool
}

func (n *relNode) eval(c *evalCtx) bool {
	v := c.get(n.f)
	if !v.ok {
		return false
	}
	edge := c.edges[n.idx]
	if n.last {
		return v.t.After(edge)
	}
	return v.t.Before(edge)
}

// nullNode is {"$eq":null} (present false) or {"$ne":null} (present true).
type nullNode struct {
	f       fieldID
	present bool
}

func (n *nullNode) eval(c *evalCtx) bool { return c.get(n.f).ok == n.present }

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Property criteria follow Artifactory's SQL: a positive operator holds when
// SOME value of the property satisfies it ("exists"); $ne and $nmatch hold
// when NO value of the property satisfies $eq / $match ("not exists"), so an
// item without the property satisfies them. JFrog's $msp documentation shows
// the consequence: an item with license=LGPL-2.1 and license=LGPL-2.2 is not
// returned by {"@license":{"$nmatch":"LGPL-2.1*"}}.

// propValueNode is a criterion on the values of one property key, or of
// every key when anyKey ("@*").
type propValueNode struct {
	key    string
	anyKey bool
	pred   valuePred
	neg    bool
}

func (n *propValueNode) eval(c *evalCtx) bool {
	props := c.properties()
	if !n.anyKey {
		return n.pred.anyOf(props[n.key]) != n.neg
	}
	for _, vals := range props {
		if n.pred.anyOf(vals) {
			return !n.neg
		}
	}
	return n.neg
}

// propKeyNode is a criterion on property key names ({"@key":{"$op":"*"}}):
// some key with a value satisfies pred, or none does when neg.
type propKeyNode struct {
	pred valuePred
	neg  bool
}

func (n *propKeyNode) eval(c *evalCtx) bool {
	for k, vals := range c.properties() {
		if len(vals) > 0 && n.pred.holds(k) {
			return !n.neg
		}
	}
	return n.neg
}

// valuePred is a positive predicate on one string: $match when g is set,
// otherwise a comparison (opEq..opLte).
type valuePred struct {
	op cmpOp
	v  string
	g  *glob
}

func (p *valuePred) holds(v string) bool {
	switch {
	case p.g != nil:
		return p.g.match(v)
	case p.op == opEq:
		return v == p.v
	}
	return p.op.holds(strings.Compare(v, p.v))
}

// anyOf reports whether some value satisfies the predicate.
func (p *valuePred) anyOf(vals []string) bool {
	for _, v := range vals {
		if p.holds(v) {
			return true
		}
	}
	return false
}
