//! Banana as Twisted's `test_banana.py` exercises it, as behaviour.
