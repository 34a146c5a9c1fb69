# Source: "Bidirectional LSTM on IMDB" by fchollet, keras.io code example
#   https://keras.io/examples/nlp/bidirectional_lstm_imdb/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/nlp/bidirectional_lstm_imdb.py
# Simplified: dropped IMDB loading/padding, compile and fit. The published input
#   is variable-length, keras.Input(shape=(None,), dtype="int32"); here the
#   sequence length is fixed to maxlen = 200 (the length the example pads to) so
#   the shape is complete. max_features = 20000 as published.
import keras
from keras import layers

max_features = 20000  # Only consider the top 20k words
maxlen = 200  # Only consider the first 200 words of each movie review

# Input for integer sequences (fixed to maxlen here; None in the source)
inputs = keras.Input(shape=(maxlen,), dtype="int32")
# Embed each integer in a 128-dimensional vector
x = layers.Embedding(max_features, 128)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(64))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
