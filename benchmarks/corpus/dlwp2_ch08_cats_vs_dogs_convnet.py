# Source: Deep Learning with Python, 2nd ed. (F. Chollet, Manning 2021), chapter 8
#   "Introduction to deep learning for computer vision", listing "Instantiating a
#   small convnet for dogs vs. cats classification", companion notebook:
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/second_edition/chapter08_intro-to-dl-for-computer-vision.ipynb
# Simplified: dropped the Kaggle download, directory copying,
#   image_dataset_from_directory, compile, fit and evaluation. This is the first
#   (no data augmentation, no dropout) version of the model; Rescaling(1/255) is
#   part of the published model and is kept.
import keras
from keras import layers

inputs = keras.Input(shape=(180, 180, 3))
x = layers.Rescaling(1./255)(inputs)
x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
x = layers.Flatten()(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
