// Implementation files of this folder are added next to this one.
