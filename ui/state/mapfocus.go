package state

// Keyboard focus on the map. Only nodes with an action take the focus: a
// peer (Return opens its details) and a network's offline node (Return
// lists its peers); this device and the relay box have none and are
// skipped. Tab visits them in FocusOrder and leaves the map after the
// last; the arrow keys go round the same order and wrap, as the nodes sit
// on a ring (arrows to the "nearest node to the left" would be ambiguous
// at the top and bottom of a ring and could leave nodes unreachable).

// FocusKey names n across layouts: a peer by its id, an offline node by
// its network. It is "" for nodes that take no focus.
func (n MapNode) FocusKey() string {
	switch n.Kind {
	case MapPeer:
		return "peer:" + n.ID
	case MapOffline:
		return "offline:" + n.Network
	}
	return ""
}

// FocusOrder returns the indexes of the nodes that take the focus, in Tab
// order: group by group (networks in name order), in each its online
// peers by name and then its offline node. That is the order Map places
// them round the ring, clockwise from the bottom.
func (l MapLayout) FocusOrder() []int {
	var order []int
	for i, n := range l.Nodes {
		if n.FocusKey() != "" {
			order = append(order, i)
		}
	}
	return order
}

// FocusKeys returns the focus keys of FocusOrder.
func (l MapLayout) FocusKeys() []string {
	order := l.FocusOrder()
	keys := make([]string, len(order))
	for i, n := range order {
		keys[i] = l.Nodes[n].FocusKey()
	}
	return keys
}

// FocusIndex returns the index of the node with the given focus key, or
// -1.
func (l MapLayout) FocusIndex(key string) int {
	if key == "" {
		return -1
	}
	for i, n := range l.Nodes {
		if n.FocusKey() == key {
			return i
		}
	}
	return -1
}

// FocusStep returns the key of the node delta places from key in focus
// order, wrapping round. From a key l does not have, a step forward goes
// to the first node and a step back to the last. It returns "" when no
// node takes the focus.
func (l MapLayout) FocusStep(key string, delta int) string {
	keys := l.FocusKeys()
	if len(keys) == 0 {
		return ""
	}
	at := -1
	for i, k := range keys {
		if k == key {
			at = i
		}
	}
	switch {
	case at >= 0:
		at += delta
	case delta >= 0:
		at = delta - 1
	default:
		at = len(keys) + delta
	}
	return keys[((at%len(keys))+len(keys))%len(keys)]
}

// Refocus returns the node that keeps the focus when the map changes from
// old to l while the node key had it: the node itself if l still has it;
// for a peer that went offline, its network's offline node; otherwise the
// nearest node after it in old's focus order that l still has, else the
// nearest before it, else l's first. It returns "" when no node of l
// takes the focus.
func (l MapLayout) Refocus(old MapLayout, key string) string {
	keys := l.FocusKeys()
	if len(keys) == 0 {
		return ""
	}
	has := make(map[string]bool, len(keys))
	for _, k := range keys {
		has[k] = true
	}
	if has[key] {
		return key
	}
	for _, n := range l.Nodes {
		for _, m := range n.Members {
			if "peer:"+m.ID == key {
				return n.FocusKey()
			}
		}
	}
	oldKeys := old.FocusKeys()
	for i, k := range oldKeys {
		if k != key {
			continue
		}
		for _, next := range oldKeys[i+1:] {
			if has[next] {
				return next
			}
		}
		for j := i - 1; j >= 0; j-- {
			if has[oldKeys[j]] {
				return oldKeys[j]
			}
		}
	}
	return keys[0]
}
