package aql

import "strings"

// value is a literal operand of a criterion.
type value struct {
	tok  token
	null bool
}

// text returns the operand as text (a number keeps its JSON spelling).
func (v value) text() string { return v.tok.text }

// parseCriteria parses a criteria object into its criteria, which the
// caller joins with the operator of the context: AND at the top level, the
// operator of the enclosing "$and" / "$or" array otherwise. This is
// Artifactory's rule (ParserToAqlAdapter keeps a stack of operators and joins
// every criterion with the innermost one, whatever object it is written in):
// {"$or":[{"a":1,"b":2}]} means a OR b, which is why jfrog-client-go wraps the
// repo/path/name triples in {"$and":[{...}]}. A key may repeat (jfrog-client-go
// sends several "$or" keys in one object).
func (p *parser) parseCriteria() ([]node, *Error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	var kids []node
	if p.peek().is('}') {
		p.next()
		return kids, nil
	}
	for {
		key := p.next()
		if key.kind != tokString {
			return nil, p.errAt(key)
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		n, err := p.parseCriterion(key)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		t := p.next()
		if t.is('}') {
			return kids, nil
		}
		if !t.is(',') {
			return nil, p.errAt(t)
		}
	}
}

// join combines criteria with AND or OR; no criteria is no constraint.
func join(kids []node, or bool) node {
	switch {
	case len(kids) == 0:
		return andNode(nil)
	case len(kids) == 1:
		return kids[0]
	case or:
		return orNode(kids)
	}
	return andNode(kids)
}

// parseCriterion parses the value of one criteria key.
func (p *parser) parseCriterion(key token) (node, *Error) {
	k := key.text
	switch {
	case k == "$and" || k == "$or":
		return p.parseJunction(k == "$or")
	case k == "$msp" || k == "$rf":
		return nil, badRequest("AQL operator %s is not supported by the Artifactory emulator", k)
	case strings.HasPrefix(k, "$"):
		return nil, p.errAt(key)
	case strings.HasPrefix(k, "@") && len(k) > 1:
		return p.parseOperand(func(op cmpOp, opTok token, v value) (node, *Error) {
			return p.propNode(k[1:], op, opTok, v)
		})
	}
	if sf, ok := lookupStatField(k); ok {
		p.usesStats = true
		return p.parseOperand(func(op cmpOp, opTok token, v value) (node, *Error) {
			return p.statNode(sf, op, opTok, v)
		})
	}
	f, ok := lookupField(k)
	if !ok {
		return nil, p.unknownField(key)
	}
	if f == fType {
		p.mentionsType = true
	}
	return p.parseOperand(func(op cmpOp, opTok token, v value) (node, *Error) {
		return p.fieldNode(f, op, opTok, v)
	})
}

// parseJunction parses the array of criteria objects of "$and" / "$or" and
// joins all their criteria with that operator. Only the array form is
// accepted (the form JFrog documents and its clients send).
func (p *parser) parseJunction(or bool) (node, *Error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	var all []node
	for {
		if t := p.peek(); !t.is('{') {
			return nil, p.errAt(t)
		}
		kids, err := p.parseCriteria()
		if err != nil {
			return nil, err
		}
		all = append(all, kids...)
		t := p.next()
		if t.is(']') {
			return join(all, or), nil
		}
		if !t.is(',') {
			return nil, p.errAt(t)
		}
	}
}

// parseOperand parses either a bare value ($eq) or an object of operators
// (ANDed) and builds a node for each with build.
func (p *parser) parseOperand(build func(cmpOp, token, value) (node, *Error)) (node, *Error) {
	if !p.peek().is('{') {
		t := p.peek()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		return build(opEq, t, v)
	}
	p.next()
	var kids andNode
	for {
		opTok := p.next()
		if opTok.kind != tokString {
			return nil, p.errAt(opTok)
		}
		op, ok := opOf(opTok.text)
		if !ok {
			return nil, p.errAt(opTok)
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		n, err := build(op, opTok, v)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		t := p.next()
		if t.is('}') {
			break
		}
		if !t.is(',') {
			return nil, p.errAt(t)
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return kids, nil
}

// parseValue parses a string, a number or null.
func (p *parser) parseValue() (value, *Error) {
	t := p.next()
	switch {
	case t.kind == tokString || t.kind == tokNumber:
		return value{tok: t}, nil
	case t.kind == tokIdent && t.text == "null":
		return value{tok: t, null: true}, nil
	}
	return value{}, p.errAt(t)
}

// fieldNode builds the node of one operator on a primary field.
func (p *parser) fieldNode(f fieldID, op cmpOp, opTok token, v value) (node, *Error) {
	info := fieldTable[f]
	if v.null {
		switch op {
		case opEq:
			return &nullNode{f: f}, nil
		case opNe:
			return &nullNode{f: f, present: true}, nil
		}
		return nil, badRequest("Illegal syntax the 'null' values are allowed to use only with equals and not equals operators.")
	}
	switch info.kind {
	case kindString:
		return p.stringFieldNode(f, op, opTok, v)
	case kindInt:
		return p.intFieldNode(f, op, opTok, v)
	}
	return p.timeFieldNode(f, op, opTok, v)
}

// stringFieldNode builds a node on a string field; "type":"any" matches every item.
func (p *parser) stringFieldNode(f fieldID, op cmpOp, opTok token, v value) (node, *Error) {
	switch op {
	case opMatch, opNmatch:
		return &globNode{f: f, g: compileGlob(v.text()), neg: op == opNmatch}, nil
	case opBefore, opLast:
		return nil, badRequest("AQL operator %s applies to date fields only, not to field %q", opTok.text, fieldTable[f].name)
	}
	if f == fType && op == opEq && v.text() == "any" {
		return constNode(true), nil
	}
	return &strNode{f: f, op: op, v: v.text()}, nil
}

// intFieldNode builds a node on an integer field; the value is a number or a numeric string.
func (p *parser) intFieldNode(f fieldID, op cmpOp, opTok token, v value) (node, *Error) {
	if op >= opMatch {
		return nil, badRequest("AQL operator %s does not apply to the numeric field %q", opTok.text, fieldTable[f].name)
	}
	n, ok := parseIntValue(v.text())
	if !ok {
		return nil, badRequest("Invalid value %q for the numeric field %q", v.text(), fieldTable[f].name)
	}
	return &intNode{f: f, op: op, v: n}, nil
}

// timeFieldNode builds a node on a time field. A comparison value is an
// ISO-8601 string (see parseTimeValue) or a number of milliseconds since the epoch.
func (p *parser) timeFieldNode(f fieldID, op cmpOp, opTok token, v value) (node, *Error) {
	name := fieldTable[f].name
	switch op {
	case opMatch, opNmatch:
		return nil, badRequest("AQL operator %s does not apply to the date field %q", opTok.text, name)
	case opBefore, opLast:
		if v.tok.kind != tokString {
			return nil, badRequest("Invalid relative date format for: %s", v.text())
		}
		rt, err := parseRelTime(v.text())
		if err != nil {
			return nil, err
		}
		p.rels = append(p.rels, rt)
		return &relNode{f: f, idx: len(p.rels) - 1, last: op == opLast}, nil
	}
	ms, err := dateMillis(v, name)
	if err != nil {
		return nil, err
	}
	return &timeNode{f: f, op: op, ms: ms}, nil
}

// propNode builds the node of one operator on the property key (without
// "@"), as Artifactory's parser distinguishes them:
//   - {"@key":{"$op":"*"}} applies the operator to key names (the key may be
//     a pattern with $match): whether the item has such a property;
//   - {"@*":{"$op":value}} applies the operator to the values of every key;
//   - otherwise the operator applies to the values of the key, compared exactly.
//
// null compares with SQL semantics: no property value is NULL in the
// emulator, so {"$eq":null} never holds and {"$ne":null} always does.
func (p *parser) propNode(key string, op cmpOp, opTok token, v value) (node, *Error) {
	switch {
	case v.null && (op == opEq || op == opNe):
		return constNode(op == opNe), nil
	case v.null:
		return nil, badRequest("Illegal syntax the 'null' values are allowed to use only with equals and not equals operators.")
	case op == opBefore || op == opLast:
		return nil, badRequest("AQL operator %s applies to date fields only, not to property %q", opTok.text, key)
	}
	neg := op == opNe || op == opNmatch
	if v.tok.kind == tokString && v.text() == "*" {
		if key == "*" { // {"@*":"*"}: any property at all
			return &propKeyNode{pred: makePred(opMatch, "*"), neg: neg}, nil
		}
		return &propKeyNode{pred: makePred(op, key), neg: neg}, nil
	}
	return &propValueNode{key: key, anyKey: key == "*", pred: makePred(op, v.text()), neg: neg}, nil
}

// makePred returns the positive predicate of op ($ne is $eq, $nmatch is $match) on v.
func makePred(op cmpOp, v string) valuePred {
	switch op {
	case opNe:
		return valuePred{op: opEq, v: v}
	case opMatch, opNmatch:
		g := compileGlob(v)
		return valuePred{g: &g}
	}
	return valuePred{op: op, v: v}
}
