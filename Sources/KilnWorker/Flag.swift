/// A one-way switch shared between tasks.
actor Flag {
    private(set) var isSet = false
    func set() { isSet = true }
}
