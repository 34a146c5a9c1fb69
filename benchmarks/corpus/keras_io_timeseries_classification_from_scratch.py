# Source: "Timeseries classification from scratch" by hfawaz, keras.io code example
#   https://keras.io/examples/timeseries/timeseries_classification_from_scratch/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/timeseries/timeseries_classification_from_scratch.py
# Simplified: dropped FordA download/reshaping, plotting, callbacks, compile, fit
#   and evaluation. make_model() is inlined; input_shape = x_train.shape[1:] is
#   fixed to (500, 1) (FordA series have 500 steps, 1 channel) and
#   num_classes = 2 (FordA is binary).
import keras

input_shape = (500, 1)
num_classes = 2

input_layer = keras.layers.Input(input_shape)

conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
conv1 = keras.layers.BatchNormalization()(conv1)
conv1 = keras.layers.ReLU()(conv1)

conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
conv2 = keras.layers.BatchNormalization()(conv2)
conv2 = keras.layers.ReLU()(conv2)

conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
conv3 = keras.layers.BatchNormalization()(conv3)
conv3 = keras.layers.ReLU()(conv3)

gap = keras.layers.GlobalAveragePooling1D()(conv3)

output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

model = keras.models.Model(inputs=input_layer, outputs=output_layer)
