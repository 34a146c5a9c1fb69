# Source: "Convolutional autoencoder for image denoising" by Santiago L. Valdarrama,
#   keras.io code example
#   https://keras.io/examples/vision/autoencoder/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/vision/autoencoder.py
# Simplified: dropped MNIST loading, preprocess()/noise()/display() helpers,
#   compile and the two fit/predict rounds. The model (published name
#   `autoencoder`) is also bound to `model`.
import keras
from keras import layers

input = layers.Input(shape=(28, 28, 1))

# Encoder
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = keras.Model(input, x)
model = autoencoder
