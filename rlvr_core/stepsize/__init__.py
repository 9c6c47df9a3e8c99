"""The learning-rate checker (is my step size safe?) and its validation against bandits whose
threshold is known."""
